"""Compiled loops behind :mod:`mes_assets.kernels.montecarlo` (see its docstring for the maths).

Everything here trusts its inputs: the public wrapper validates, draws every random number with a
seeded ``numpy.random.Generator`` and passes it in, and preallocates the outputs.

* :func:`_tap_kernel_py` is the whole conditional estimator in one call (terminal sampling,
  touch probabilities and times, extremes, percentiles, Wilson interval): the default path loads
  one cached entry point at start-up and crosses the Python/numba boundary once per call.
* :func:`_paths_kernel_py` (``method="paths"``) works in displacements from spot with the levels
  split by the wrapper into "up" distances ``d = level - spot > 0`` and "down" distances
  ``d = spot - level > 0``, each ascending (nearest first).

Sums run in a fixed order (no reassociation), so a seed reproduces bit for bit on any machine
(the conditional kernel fuses multiply-adds where the CPU has FMA: see :func:`_jit_fma`).
Each kernel ``_x`` has an undecorated twin ``_x_py`` (same code, plain Python) so tests can check
that the jitted and the interpreted versions agree; the helpers the kernels call are compiled into
them and are not loaded separately.
"""

from __future__ import annotations

import math

import numpy as np

from mes_assets.kernels._numba import jit, jit_contract
from mes_assets.kernels.types import FloatArray, IntArray

__all__: list[str] = []  # private module: the public API is mes_assets.kernels.montecarlo

_Z95 = 1.959963984540054  # Phi^-1(0.975), the Wilson interval's z (as montecarlo.wilson_interval)
_SQRT_PI = math.sqrt(math.pi)


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
    n = z.shape[0]
    # piece p (p = 0 .. K-2) is q_p + (z - z_p) * slope_p on (z_p, z_{p+1}]; piece 0 also covers
    # z <= z_0 and piece K-2 also z > z_{K-1} (the linear tails). Branch-free: every piece whose
    # left knot lies below z overwrites the previous one, a pass per piece (vectorized).
    slope = (q_knots[1] - q_knots[0]) / (z_knots[1] - z_knots[0])
    q0 = q_knots[0] - spot
    z0 = z_knots[0]
    for j in range(n):
        out[j] = q0 + (z[j] - z0) * slope
    for k in range(1, n_knots - 1):
        slope = (q_knots[k + 1] - q_knots[k]) / (z_knots[k + 1] - z_knots[k])
        qk = q_knots[k] - spot
        zk = z_knots[k]
        for j in range(n):
            zj = z[j]
            x = qk + (zj - zk) * slope
            out[j] = x if zj > zk else out[j]


def _select_py(a: FloatArray, k: int) -> float:
    """``sorted(a)[k]``, rearranging ``a`` in place so that ``a[:k] <= a[k] <= a[k + 1:]``.

    Wirth's selection (Hoare partitioning around ``a[k]``, expected O(n)): a few lines of loops,
    where ``numpy.partition`` would compile numba's sort, unique and list machinery into the
    kernel and make its cached library slower to load.
    """
    lo = 0
    hi = a.shape[0] - 1
    while lo < hi:
        pivot = a[k]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                tmp = a[i]
                a[i] = a[j]
                a[j] = tmp
                i += 1
                j -= 1
        if j < k:
            lo = i
        if k < i:
            hi = j
    kth: float = a[k]  # a local annotation compiles to nothing (numba and CPython alike)
    return kth


def _order_pair_py(a: FloatArray, k: int) -> tuple[float, float]:
    """``(sorted(a)[k], sorted(a)[k + 1])`` for ``0 <= k < len(a) - 1``, without sorting (NaN-free input).

    For an upper order statistic (``k >= 3/4 len(a)``) a strided subsample of every 8th value
    gives a threshold that about twice the ``len(a) - k`` top values exceed; those are copied out
    and only they are partitioned. If fewer than ``len(a) - k`` values pass (a threshold that
    came out too high) the whole array is partitioned instead, so the result is always exact.
    ``a`` is not modified.
    """
    n = a.shape[0]
    n_top = n - k  # values at sorted ranks k .. n - 1
    stride = 8
    threshold = -np.inf
    if n >= 64 * stride and 4 * n_top <= n:
        sub = a[::stride].copy()
        n_sub = sub.shape[0]
        keep = min(n_sub - 1, (2 * n_top * n_sub) // n + 8)  # subsample values above the threshold
        threshold = _select(sub, n_sub - 1 - keep)
    count = 0
    for j in range(n):
        count += 1 if a[j] >= threshold else 0
    if count < n_top:
        threshold = -np.inf
        count = n
    top = np.empty(count)
    c = 0
    for j in range(n):
        v = a[j]
        if v >= threshold:
            top[c] = v
            c += 1
    r = k - (n - count)  # rank of sorted(a)[k] among the values >= threshold
    low = _select(top, r)
    high = top[r + 1]
    for j in range(r + 2, count):
        if top[j] < high:
            high = top[j]
    return low, high


# --------------------------------------------------------------------------------------------
# conditional estimator: one fused kernel (terminal draws -> every per-level output)
# --------------------------------------------------------------------------------------------
# Branch-free exp on [-708, 0] (no libm call, so LLVM vectorizes the level loop; AVX2 has no
# vector exp and numba links no SVML here): arg = n ln2 + r with n = round(arg / ln2) by the
# 1.5 * 2**52 rounding trick, |r| <= ln2 / 2, e^r by its degree-12 Taylor polynomial (remainder
# < r^13 / 13! < 1.7e-16 relative), 2^n built in the exponent bits. Maximum error 2 ulp against
# numpy.exp over [-708, 0] (tested), monotone on a fine grid. Arguments below -708 (probability
# < 3e-308) give exactly 0: the only departure from libm, which returns subnormals there.
_EXP_MAGIC = 6755399441055744.0  # 1.5 * 2**52: x + magic rounds x to an integer in the low mantissa bits
_EXP_MAGIC_BITS = 0x4338000000000000  # the bit pattern of _EXP_MAGIC
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # Cody-Waite split of ln 2 (fdlibm): n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_FLOOR = -708.0  # exp(-708) = 3.3e-308 is still a normal float64
EXP_COEF = np.array([1.0 / math.factorial(k) for k in range(13)])
"""Taylor coefficients 1/k! of e^r, k = 0..12 (passed to the kernel as an array, see below)."""

# erfcx(x) = exp(x^2) erfc(x) for x >= 0 as f(t) / (x + 4) with t = (x - 4) / (x + 4) in [-1, 1):
# f(t) = (x + 4) erfcx(x) is analytic on [-1, 1] (at t -> 1 it expands in 1/x), so a polynomial
# of degree 20 in t reaches 8e-15 relative error against scipy.special.erfcx on the whole
# half-line (checked on 420,000 points of [0, 1e300] when fitted; the tests check 2e-14 through
# the kernel up to x = 1e6). Fitted by least squares in the Chebyshev basis to scipy.special.erfcx
# at 220,000 points of [0, 1e15] (relative weights), then converted to powers of t (the sum of
# |coefficients| is 4, so evaluating in powers loses nothing). One division per call.
_ERFCX_SHIFT = 4.0
ERFCX_COEF = np.array([
    1.0959956610004937, -0.9765487290808834, 0.7732087022651699, -0.5408538313134842,
    0.33085158788203767, -0.17401093723015626, 0.07638151482832924, -0.026370053450029435,
    0.006112056413393122, -0.0002809583164182446, -0.0004550565865448974, 0.00017681142998933708,
    -3.623154133026499e-06, -1.885917909658754e-05, 4.671431602142822e-06, 1.4236202972213046e-06,
    -8.188238574677753e-07, -7.630706022609957e-08, 1.0466646926943213e-07, 1.6007106751203537e-09,
    -8.149072527885437e-09,
])  # fmt: skip
"""Coefficients of ``f(t)``, powers 0..20 of ``t`` (see the comment above)."""

LANES = 128
"""Paths per block of the level loop; every path ``j`` adds into lane ``j mod LANES``."""


def _tap_kernel_py(
    z_term: FloatArray,
    e_ext: FloatArray,
    z_knots: FloatArray,
    q_knots: FloatArray,
    spot: float,
    levels: FloatArray,
    sigma: float,
    horizon: float,
    exp_coef: FloatArray,
    erfcx_coef: FloatArray,
    y_term: FloatArray,
    out: FloatArray,
) -> None:
    """The whole conditional estimator for one call: terminal draws in, per-level results out.

    Parameters
    ----------
    z_term
        Standard-normal terminal scores, one per path (``n_paths >= 2``).
    e_ext
        Standard-exponential draws ``-ln V``, one per path (exact bridge extremes).
    z_knots, q_knots, spot
        As in :func:`_terminal_kernel_py`.
    levels
        Level prices (price units), any order; a level equal to ``spot`` is touched at time 0.
    sigma
        Bridge volatility, price units per sqrt(time unit).
    horizon
        Horizon ``T`` in time units.
    exp_coef, erfcx_coef
        :data:`EXP_COEF` and :data:`ERFCX_COEF`. Passed in rather than read as globals: numba
        freezes global arrays into constants, which its large code model rematerialises in the
        hot loop (two instructions each, about 35 of them); loaded once into locals they stay in
        registers or on the stack (about 10% faster).
    y_term
        Work array, length ``n_paths``: receives the terminal displacements ``X_T - spot``.
    out
        float64 ``(5, n_levels)``, overwritten: rows ``tap_prob``, ``ci_low``, ``ci_high``
        (Wilson 95%, ``N = n_paths``), ``exp_time_to_touch`` (NaN where nothing touched) and
        ``path_var95``.

    Notes
    -----
    Per path and level (``d = |level - spot|``, ``g = d - s y`` the distance still to go at the
    horizon, ``s = +1`` above spot and ``-1`` below, ``c = 1 / (sigma sqrt(2 T))``):

    * touch probability ``P = exp(-2 d max(g, 0) / (sigma^2 T))``;
    * ``P E[tau | X_T, touch] = P T sqrt(pi) d c erfcx((d + |g|) c)`` (module docstring of
      :mod:`mes_assets.kernels.montecarlo`), summed without the level constant ``T sqrt(pi) d c``.

    The level loop runs over blocks of :data:`LANES` paths, each path adding into its own lane,
    and the lanes are summed in order at the end: the order of every addition is fixed, so the
    result is the same on every machine and SIMD width, yet the loop has no cross-iteration
    dependency and LLVM vectorizes it (the exp and erfcx above are branch-free polynomials; the
    division is ``np.divide``, because numba's ``/`` on floats tests for a zero divisor, a branch
    that stops vectorization; the divisor here is >= 4). Of fastmath only ``contract`` (FMA, see
    :func:`_jit_fma`): reassociation would make the sums depend on the SIMD width, and the exp's
    rounding trick relies on IEEE addition.
    """
    n = z_term.shape[0]
    n_lv = levels.shape[0]
    terminal_kernel(z_term, z_knots, q_knots, spot, y_term)
    var_t = sigma * sigma * horizon
    c_erf = 1.0 / (sigma * math.sqrt(2.0 * horizon))

    # adverse excursions (exact bridge extremes from one exponential per path) and their
    # 95th percentiles: numpy.quantile's default "linear" rule, with numpy's arithmetic
    adverse_up = np.empty(n)
    adverse_dn = np.empty(n)
    two_var_t = 2.0 * var_t
    for j in range(n):
        y = y_term[j]
        w = math.sqrt(y * y + two_var_t * e_ext[j])
        adverse_up[j] = 0.5 * (w - y)
        adverse_dn[j] = 0.5 * (w + y)
    h = (n - 1) * 0.95
    lo = int(math.floor(h))
    gamma = h - lo
    var95 = np.empty(2)
    for side_k in range(2):
        a, b = _order_pair(adverse_up if side_k == 0 else adverse_dn, lo)
        diff = b - a
        var95[side_k] = a + diff * gamma if gamma < 0.5 else b - diff * (1.0 - gamma)

    # per-level constants
    dist = np.empty(n_lv)
    sgn = np.empty(n_lv)
    k_exp = np.empty(n_lv)
    for i in range(n_lv):
        delta = levels[i] - spot
        dist[i] = abs(delta)
        sgn[i] = 1.0 if delta >= 0.0 else -1.0
        k_exp[i] = 2.0 * abs(delta) / var_t
    # the polynomial coefficients as loop-invariant locals (see exp_coef above)
    ec = exp_coef
    ec0, ec1, ec2, ec3, ec4, ec5, ec6 = ec[0], ec[1], ec[2], ec[3], ec[4], ec[5], ec[6]
    ec7, ec8, ec9, ec10, ec11, ec12 = ec[7], ec[8], ec[9], ec[10], ec[11], ec[12]
    fc = erfcx_coef
    fc0, fc1, fc2, fc3, fc4, fc5, fc6 = fc[0], fc[1], fc[2], fc[3], fc[4], fc[5], fc[6]
    fc7, fc8, fc9, fc10, fc11, fc12, fc13 = fc[7], fc[8], fc[9], fc[10], fc[11], fc[12], fc[13]
    fc14, fc15, fc16, fc17, fc18, fc19, fc20 = fc[14], fc[15], fc[16], fc[17], fc[18], fc[19], fc[20]

    acc_p = np.zeros((n_lv, LANES))
    acc_pt = np.zeros((n_lv, LANES))
    for start in range(0, n, LANES):
        m = min(LANES, n - start)
        yb = y_term[start : start + m]
        for i in range(n_lv):
            d = dist[i]
            if d == 0.0:
                continue
            s = sgn[i]
            kk = k_exp[i]
            lane_p = acc_p[i]
            lane_pt = acc_pt[i]
            for jj in range(m):
                gap = d - s * yb[jj]
                # P = exp(arg), arg = -kk max(gap, 0) clamped to [-708, 0]
                arg = -kk * gap
                arg = arg if arg < 0.0 else 0.0
                arg = arg if arg > _EXP_FLOOR else _EXP_FLOOR
                shifted = arg * _LOG2E + _EXP_MAGIC
                nf = shifted - _EXP_MAGIC
                r = (arg - nf * _LN2_HI) - nf * _LN2_LO
                r2 = r * r
                r4 = r2 * r2
                e_lo = (ec0 + ec1 * r) + (ec2 + ec3 * r) * r2
                e_mid = (ec4 + ec5 * r) + (ec6 + ec7 * r) * r2
                e_hi = (ec8 + ec9 * r) + (ec10 + ec11 * r) * r2 + ec12 * r4
                e_r = (e_lo + e_mid * r4) + e_hi * (r4 * r4)
                n_bits = np.float64(shifted).view(np.int64) - _EXP_MAGIC_BITS  # = n
                p = e_r * np.int64((n_bits + 1023) << 52).view(np.float64)  # e^r 2^n
                p = 0.0 if gap * kk > -_EXP_FLOOR else p
                # erfcx((d + |gap|) c) = f(t) u, u = 1 / (x + 4), t = 1 - 8 u
                u = np.divide(1.0, (d + abs(gap)) * c_erf + _ERFCX_SHIFT)
                t = 1.0 - 2.0 * _ERFCX_SHIFT * u
                t2 = t * t
                t4 = t2 * t2
                t8 = t4 * t4
                f_0 = (fc0 + fc1 * t) + (fc2 + fc3 * t) * t2
                f_1 = (fc4 + fc5 * t) + (fc6 + fc7 * t) * t2
                f_2 = (fc8 + fc9 * t) + (fc10 + fc11 * t) * t2
                f_3 = (fc12 + fc13 * t) + (fc14 + fc15 * t) * t2
                f_4 = (fc16 + fc17 * t) + (fc18 + fc19 * t) * t2 + fc20 * t4
                f_t = ((f_0 + f_1 * t4) + (f_2 + f_3 * t4) * t8) + f_4 * (t8 * t8)
                lane_p[jj] += p
                lane_pt[jj] += p * (f_t * u)

    # per level: tap probability, Wilson interval, mean touch time, excursion percentile
    z = _Z95
    z2n = z * z / n
    for i in range(n_lv):
        d = dist[i]
        if d == 0.0:
            tap = 1.0
            mean_t = 0.0
        else:
            sp = 0.0
            spt = 0.0
            for jj in range(LANES):
                sp += acc_p[i, jj]
                spt += acc_pt[i, jj]
            tap = min(sp / n, 1.0)
            if sp > 0.0 and tap > 0.0:
                mean_t = spt * (horizon * _SQRT_PI * d * c_erf) / sp
                mean_t = min(max(mean_t, 0.0), horizon)  # clip: rounding only
            else:
                mean_t = np.nan
        centre = (tap + 0.5 * z2n) / (1.0 + z2n)
        half = z * math.sqrt(tap * (1.0 - tap) / n + 0.25 * z2n / n) / (1.0 + z2n)
        out[0, i] = tap
        out[1, i] = min(min(max(centre - half, 0.0), 1.0), tap)
        out[2, i] = max(min(max(centre + half, 0.0), 1.0), tap)
        out[3, i] = mean_t
        out[4, i] = var95[0] if sgn[i] > 0.0 else var95[1]


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


# fastmath 'contract' only (see _numba.jit_contract): numba compiles a jitted callee with its first
# caller's flags, so the terminal kernel gets the same flag to keep its draws identical whatever the
# order of first calls.
_jit_fma = jit_contract


terminal_kernel = _jit_fma(_terminal_kernel_py)
_select = jit(_select_py)
_order_pair = jit(_order_pair_py)
tap_kernel = _jit_fma(_tap_kernel_py)
paths_kernel = jit(_paths_kernel_py)
