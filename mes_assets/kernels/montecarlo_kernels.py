"""Compiled loops behind :mod:`mes_assets.kernels.montecarlo` (see its docstring for the maths).

Everything here works in *displacements* from spot (price units) and trusts its inputs: the
public wrapper validates, sorts the levels into "up" distances ``d = level - spot > 0`` and
"down" distances ``d = spot - level > 0`` (each ascending, nearest first), draws every random
number with a seeded ``numpy.random.Generator`` and passes it in, and preallocates the outputs.
The kernels are sequential loops, so a seed reproduces bit for bit whatever the machine.

Each kernel ``_x_kernel`` has an undecorated twin ``_x_kernel_py`` (same code, plain Python) so
tests can check that the jitted and the interpreted versions agree.
"""

from __future__ import annotations

import math

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import FloatArray, IntArray

__all__: list[str] = []  # private module: the public API is mes_assets.kernels.montecarlo


def _terminal_kernel_py(z: FloatArray, z_knots: FloatArray, q_knots: FloatArray, spot: float, out: FloatArray) -> None:
    """Terminal displacements ``Q(z) - spot`` from standard-normal scores ``z``.

    Parameters
    ----------
    z
        Standard-normal draws, one per path.
    z_knots
        ``Phi^-1(p_k)`` of the quantile probabilities, strictly increasing, length ``K >= 2``.
    q_knots
        Terminal quantiles (price units) at those probabilities, strictly increasing.
    spot
        Price at time 0 (price units).
    out
        Preallocated float64, same length as ``z``: ``Q(z) - spot`` where ``Q`` is linear in ``z``
        between knots and extended linearly in ``z`` beyond the outer knots with the outer slopes.
    """
    n_knots = z_knots.shape[0]
    z_lo = z_knots[0]
    z_hi = z_knots[n_knots - 1]
    slope_lo = (q_knots[1] - q_knots[0]) / (z_knots[1] - z_knots[0])
    slope_hi = (q_knots[n_knots - 1] - q_knots[n_knots - 2]) / (z_knots[n_knots - 1] - z_knots[n_knots - 2])
    for j in range(z.shape[0]):
        zj = z[j]
        if zj <= z_lo:
            x = q_knots[0] + (zj - z_lo) * slope_lo
        elif zj >= z_hi:
            x = q_knots[n_knots - 1] + (zj - z_hi) * slope_hi
        else:
            k = 1
            while z_knots[k] < zj:
                k += 1
            # z_knots[k-1] < zj <= z_knots[k]
            w = (zj - z_knots[k - 1]) / (z_knots[k] - z_knots[k - 1])
            x = q_knots[k - 1] + w * (q_knots[k] - q_knots[k - 1])
        out[j] = x - spot


def _conditional_kernel_py(
    y_term: FloatArray,
    up_d: FloatArray,
    dn_d: FloatArray,
    sigma: float,
    horizon: float,
    z_tau: FloatArray,
    u_tau: FloatArray,
    v_ext: FloatArray,
    sum_p_up: FloatArray,
    sum_pt_up: FloatArray,
    sum_p_dn: FloatArray,
    sum_pt_dn: FloatArray,
    adverse_up: FloatArray,
    adverse_dn: FloatArray,
) -> None:
    """Conditional (Rao-Blackwellised) Monte-Carlo over terminal draws, continuous monitoring.

    Parameters
    ----------
    y_term
        Terminal displacements ``X_T - spot`` (price units), one per path.
    up_d, dn_d
        Distances from spot (price units, > 0) of the levels above / below spot.
    sigma
        Bridge volatility, price units per sqrt(time unit).
    horizon
        Horizon ``T`` in time units.
    z_tau, u_tau
        One standard normal and one uniform in [0, 1) per path (exact inverse-Gaussian draw of
        the first-passage time, shared by all levels of the path).
    v_ext
        One uniform in (0, 1] per path (exact draw of the bridge's running min and max).
    sum_p_up, sum_pt_up, sum_p_dn, sum_pt_dn
        Outputs (overwritten; lengths of ``up_d`` / ``dn_d``): ``sum_j P_j`` and ``sum_j P_j tau_j``
        with ``P_j`` the touch probability given path j's endpoint and ``tau_j`` its touch-time draw.
    adverse_up, adverse_dn
        Per-path outputs: ``spot - min_t S_t`` and ``max_t S_t - spot`` (price units, >= 0).
    """
    var_t = sigma * sigma * horizon
    n_up = up_d.shape[0]
    n_dn = dn_d.shape[0]
    # per-level constants, both sides in one array (up first, then down)
    n_lv = n_up + n_dn
    dist = np.empty(n_lv)
    k_exp = np.empty(n_lv)
    k_a = np.empty(n_lv)
    k_q = np.empty(n_lv)
    for i in range(n_lv):
        d = up_d[i] if i < n_up else dn_d[i - n_up]
        dist[i] = d
        k_exp[i] = 2.0 * d / var_t
        k_a[i] = 1.0 / (horizon * d)
        k_q[i] = 0.5 * (sigma / d) ** 2
    sum_p = np.zeros(n_lv)
    sum_pt = np.zeros(n_lv)
    for j in range(y_term.shape[0]):
        y = y_term[j]
        w = math.sqrt(y * y - 2.0 * var_t * math.log(v_ext[j]))
        adverse_up[j] = 0.5 * (w - y)
        adverse_dn[j] = 0.5 * (w + y)
        nu0 = z_tau[j] * z_tau[j]
        u = u_tau[j]
        for i in range(n_lv):
            d = dist[i]
            gap = d - y if i < n_up else d + y  # distance still to go at the horizon
            if gap <= 0.0:
                p = 1.0
            else:
                p = math.exp(-k_exp[i] * gap)
            if p > 0.0:
                # first-passage time given the endpoint and a touch: tau = T U / (T + U) with
                # U ~ IG(mean d / |c|, shape d^2 / sigma^2), c = gap / T; drawn with
                # Michael-Schucany-Haas written in 1/U (stable for c -> 0, the Levy limit): with
                # a = 1/mean and q = z^2 / (2 shape), the two candidate roots are 1/U = big and
                # 1/U = a^2 / big, the first taken with probability mean / (mean + U) = big / (big + a)
                a = abs(gap) * k_a[i]
                q = nu0 * k_q[i]
                big = a + q + math.sqrt(q * (q + 2.0 * a))
                if big <= 0.0:  # a = q = 0: the Levy draw at z = 0 is U = infinity
                    inv_u = 0.0
                elif u * (1.0 + a / big) < 1.0:  # probability big / (big + a); big = inf -> yes
                    inv_u = big
                else:
                    inv_u = a * a / big
                sum_p[i] += p
                sum_pt[i] += p * (horizon / (1.0 + horizon * inv_u))
    for i in range(n_up):
        sum_p_up[i] = sum_p[i]
        sum_pt_up[i] = sum_pt[i]
    for i in range(n_dn):
        sum_p_dn[i] = sum_p[n_up + i]
        sum_pt_dn[i] = sum_pt[n_up + i]


def _paths_kernel_py(
    y_term: FloatArray,
    up_d: FloatArray,
    dn_d: FloatArray,
    sigma: float,
    horizon: float,
    z: FloatArray,
    v: FloatArray,
    bridge: bool,
    hits_up: IntArray,
    time_up: FloatArray,
    hits_dn: IntArray,
    time_dn: FloatArray,
    adverse_up: FloatArray,
    adverse_dn: FloatArray,
) -> None:
    """Step-by-step Brownian-bridge paths for one chunk of paths (the cross-check estimator).

    Parameters
    ----------
    y_term
        Terminal displacements ``X_T - spot`` of the chunk's paths (price units).
    up_d, dn_d
        Distances from spot (price units, > 0) of the levels above / below spot, ascending.
    sigma
        Bridge volatility, price units per sqrt(time unit).
    horizon
        Horizon ``T`` in time units; ``n_steps = z.shape[1]`` equal steps ``dt = T / n_steps``.
    z
        Standard normals, shape ``(n_chunk, n_steps)``.
    v
        Uniforms in (0, 1], shape ``(n_chunk, n_steps)`` when ``bridge`` (exact draw of each
        step's sub-bridge extremes); unused otherwise (may be ``(0, 0)``).
    bridge
        True: continuous monitoring (bridge extremes between grid points, touch time = midpoint of
        the step where the level is first crossed). False: the grid points only (touch time = the
        first grid point at or beyond the level).
    hits_up, time_up, hits_dn, time_dn
        Accumulators per level (added to, not reset): number of touching paths, sum of touch times.
    adverse_up, adverse_dn
        Per-path outputs for this chunk: ``spot - running min`` and ``running max - spot``.
    """
    n_paths = z.shape[0]
    n_steps = z.shape[1]
    dt = horizon / n_steps
    sd = sigma * math.sqrt(dt)
    two_var_dt = 2.0 * sigma * sigma * dt
    n_up = up_d.shape[0]
    n_dn = dn_d.shape[0]
    for j in range(n_paths):
        total = 0.0
        for k in range(n_steps):
            total += z[j, k]
        y = y_term[j]
        # bridge B_k = S_k + (k / n)(y - S_n), S_k = sd * (z_0 + ... + z_{k-1}): exact endpoint y
        pull = (y - sd * total) / n_steps
        x = 0.0
        walk = 0.0
        run_max = 0.0
        run_min = 0.0
        iu = 0
        idn = 0
        for k in range(n_steps):
            walk += z[j, k]
            if k == n_steps - 1:
                x_new = y
            else:
                x_new = sd * walk + (k + 1) * pull
            if bridge:
                dx = x_new - x
                w = math.sqrt(dx * dx - two_var_dt * math.log(v[j, k]))
                hi = 0.5 * (x + x_new + w)
                lo = 0.5 * (x + x_new - w)
                t_hit = (k + 0.5) * dt
            else:
                hi = x_new
                lo = x_new
                t_hit = (k + 1) * dt
            if hi > run_max:
                run_max = hi
                while iu < n_up and up_d[iu] <= run_max:
                    hits_up[iu] += 1
                    time_up[iu] += t_hit
                    iu += 1
            if lo < run_min:
                run_min = lo
                while idn < n_dn and dn_d[idn] <= -run_min:
                    hits_dn[idn] += 1
                    time_dn[idn] += t_hit
                    idn += 1
            x = x_new
        adverse_up[j] = -run_min
        adverse_dn[j] = run_max


_terminal_kernel = jit(_terminal_kernel_py)
_conditional_kernel = jit(_conditional_kernel_py)
_paths_kernel = jit(_paths_kernel_py)
