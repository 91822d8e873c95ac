"""Dealer gamma exposure (GEX): per-option dollars, the price-grid surface, zero gamma, walls, p_reject.

Why: dealers who are long gamma sell rallies and buy dips (pinning price near big strikes); short
gamma they chase the move. Where their net gamma changes sign (the zero-gamma line) the market's
character flips, and large-OI strikes where |GEX| peaks act as walls (SPEC section 3).

Dollar GEX per 1% move
----------------------
For one option row (strike ``K``, expiry ``T`` years, open interest ``OI`` contracts, contract
``multiplier`` in dollars per price unit, futures price ``F``)::

    GEX$ = sign * Gamma * OI * multiplier * F^2 * 0.01

with ``Gamma`` the Black-76 gamma (:func:`mes_assets.kernels.black76.gamma`, per price unit): a 1%
move ``0.01 F`` changes the dealer delta by ``Gamma * 0.01 F`` per contract, worth ``* F * multiplier``
dollars. ``sign`` is the dealer position (:class:`DealerConvention`). The default,
``LONG_CALLS_SHORT_PUTS`` (DESIGN section 6), assumes the public sells calls (overwriting) and buys
puts (protection), so dealers are long calls (+) and short puts (-). ``SHORT_CALLS_LONG_PUTS`` is the
mirror image and ``SHORT_ALL`` takes SPEC's "dealer = contra to public OI" literally with the public
long every contract (both signs -).

Surface over a price grid
-------------------------
:func:`gex_surface` re-prices every gamma at each grid price ``P_j`` (by default
:func:`price_grid`: ``n`` evenly spaced points from ``0.8 F0`` to ``1.2 F0`` around the reference
futures price ``F0``), keeping each row's implied volatility fixed (sticky strike: the IV belongs to
the strike). Expiry ``e`` may sit on a different futures month ``F_e``; at grid price ``P`` its
underlying is ``U = P * F_e / F0`` (all futures move by the same percentage). Per expiry::

    S_e(P) = sum over rows of expiry e of GEX$(U; K, T_e, sigma_row)

Rows with the same (expiry, strike, IV) share one gamma and are summed first (their signed
``OI * multiplier``), so a call and a put quoted at one IV cost one exponential per grid point.
Rows with a NaN or non-positive IV (e.g. an implied-vol status other than "ok") are skipped and
counted.

Time weights. The SPEC asks for "theta weighting, closer expiries get higher weight". The expiry
surfaces are combined as ``S(P) = sum_e w_e S_e(P)`` with::

    w_e proportional to 1 / sqrt(max(T_e, floor)),   sum_e w_e = 1   (floor = 1 day)

Why ``1/sqrt(T)``: the dominant term of the Black-76 at-the-money theta is
``-D F sigma phi(0) / (2 sqrt T)``, so at equal volatility the relative time decay (and with it the
daily re-hedging flow) of two expiries is ``sqrt(T_2 / T_1)``; the weights are the relative
at-the-money theta. They are
smooth (no front-month cliff), scale-free (only ratios of ``T`` matter) and the floor keeps an
expiry in its last hours from taking all the weight. Normalised weights make ``S`` a weighted
average, still in dollars per 1% move. Only expiries with at least one used row share the weight.

Zero gamma
----------
:func:`zero_gamma` reports ALL sign changes of the combined surface: between adjacent grid points
of opposite sign the crossing is found by linear interpolation; a run of exact zeros between
opposite signs crosses at the middle of the run. The zero-gamma level is the crossing nearest the
reference price; with no crossing it is NaN with status ``"no_crossing"``.

Walls
-----
:func:`gamma_walls`:

1. Strike OI = open interest summed over calls, puts and expiries at each strike. "Large OI"
   strikes are those inside the grid with ``strike OI >= quantile(strike OI, oi_quantile)``
   (default ``oi_quantile = 0.8``: the top fifth of strikes by OI, quantiles of the strikes inside
   the grid with positive OI, linear interpolation).
2. Local maxima of ``|S(P)|`` on the grid: interior points strictly above the left neighbour and
   above the right neighbour after any plateau (the grid ends are never extrema: the hump may
   continue beyond them).
3. A local maximum at ``P_j`` belongs to the nearest large-OI strike ``K`` if
   ``|P_j - K| <= snap_frac * P_j`` (default 1%: about a third of a one-week one-sigma move at 15%
   vol); otherwise it is not a wall. The wall level is the strike ``K`` (SPEC's ``K_wall``).
4. A strike keeps its largest maximum; walls are ranked by ``|S(P_j)|``; the first ``n_walls`` (2)
   are wall_1, wall_2.

``wall_strength = |S(P_j)| / mean_j |S(P_j)|``: the wall's |GEX| relative to the average |GEX| over
the grid (dimensionless; 1 = no stronger than the average grid point; independent of the number of
grid points for a fixed grid range). SPEC section 3 names the column but does not define it.

Rejection probability
---------------------
SPEC section 3::

    z = |P_0 - K_wall| / (sigma_F sqrt(H))
    g = |dGEX/dP| / median(|dGEX/dP|)
    p_reject = sigmoid(alpha g - beta z)

``z``: distance from the current price to the wall in standard deviations of the futures price over
the horizon (``sigma_F`` in price units per sqrt(year), e.g. annualised vol times ``F``; ``H`` in
years). ``g``: taken literally AT the wall the slope is zero (the wall is a local extremum of |GEX|),
so :func:`rejection_features` uses the steepest ``|dS/dP|`` on the flank of the wall's hump that
faces the current price (from the wall's extremum toward ``P_0``, while ``|S|`` keeps falling and
not beyond ``P_0``), divided by the median ``|dS/dP|`` over the grid (central differences,
``numpy.gradient``). It measures how fast dealer hedging demand builds as price approaches the
wall. ``alpha`` and ``beta`` come from :func:`mes_assets.kernels.logistic.fit_alpha_beta` on
first-touch-then-reverse events; when either is missing :func:`p_reject` returns NaN (the caller
writes status "uncalibrated") - never a guessed coefficient.

Numba kernels (with importable ``_..._py`` twins): the surface, the crossings and the local maxima.
"""

from __future__ import annotations

import enum
import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, BoolArray, FloatArray, IntArray
from mes_assets.kernels.validate import float_1d

__all__ = [
    "DEFAULT_CONVENTION",
    "DealerConvention",
    "GammaWalls",
    "GexSurface",
    "ZeroGamma",
    "dealer_sign",
    "gamma_walls",
    "gex_surface",
    "p_reject",
    "price_grid",
    "rejection_features",
    "time_weights",
    "zero_gamma",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_ONE_DAY_YEARS = 1.0 / 365.0


class DealerConvention(enum.Enum):
    """Which side of the public open interest dealers are assumed to hold (sign of their gamma)."""

    LONG_CALLS_SHORT_PUTS = "long_calls_short_puts"
    """Default (DESIGN section 6): public overwrites calls and buys puts; calls +, puts -."""
    SHORT_CALLS_LONG_PUTS = "short_calls_long_puts"
    """Mirror image: calls -, puts +."""
    SHORT_ALL = "short_all"
    """Dealer contra to a public that is long every contract: calls -, puts -."""

    @property
    def call_sign(self) -> float:
        """Sign (+1/-1) of dealer gamma from call open interest."""
        return 1.0 if self is DealerConvention.LONG_CALLS_SHORT_PUTS else -1.0

    @property
    def put_sign(self) -> float:
        """Sign (+1/-1) of dealer gamma from put open interest."""
        return 1.0 if self is DealerConvention.SHORT_CALLS_LONG_PUTS else -1.0


DEFAULT_CONVENTION = DealerConvention.LONG_CALLS_SHORT_PUTS
"""Dealers long calls, short puts (DESIGN section 6)."""


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GexSurface:
    """Dealer GEX re-priced over a price grid (dollars per 1% move).

    Attributes
    ----------
    grid
        Grid prices ``P_j`` (price units of the reference futures), shape ``(n,)``.
    per_expiry
        ``S_e(P_j)``, shape ``(E, n)``.
    weights
        Time weights ``w_e`` (sum 1 over expiries with used rows, 0 elsewhere), shape ``(E,)``.
    combined
        ``S(P_j) = sum_e w_e S_e(P_j)``, shape ``(n,)``.
    n_used
        Option rows that entered the surface.
    n_skipped
        Rows skipped for a NaN or non-positive implied volatility.
    """

    grid: FloatArray
    per_expiry: FloatArray
    weights: FloatArray
    combined: FloatArray
    n_used: int
    n_skipped: int


@dataclass(frozen=True, eq=False)
class ZeroGamma:
    """Zero-gamma line.

    Attributes
    ----------
    level
        The crossing nearest the reference price (price units); NaN when there is none.
    crossings
        All sign changes of the surface, ascending (price units).
    status
        ``"ok"`` or ``"no_crossing"``.
    """

    level: float
    crossings: FloatArray
    status: Literal["ok", "no_crossing"]


@dataclass(frozen=True, eq=False)
class GammaWalls:
    """Up to ``n_walls`` dealer walls, strongest first (arrays padded with NaN).

    Attributes
    ----------
    level
        Wall strikes ``K_wall`` (price units).
    extremum
        Grid price of the |GEX| local maximum attributed to each wall (price units).
    gex
        Signed combined GEX at the extremum (dollars per 1% move).
    strength
        ``|GEX at extremum| / mean |GEX| over the grid`` (dimensionless).
    strike_oi
        Open interest at the wall strike (contracts, all expiries and both types).
    oi_threshold
        Strike OI at or above which a strike counts as large (contracts); NaN without strikes.
    status
        ``"ok"`` (``n_walls`` found), ``"fewer_walls"`` or ``"no_walls"``.
    """

    level: FloatArray
    extremum: FloatArray
    gex: FloatArray
    strength: FloatArray
    strike_oi: FloatArray
    oi_threshold: float
    status: Literal["ok", "fewer_walls", "no_walls"]


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
def _surface_kernel_py(
    ln_grid: FloatArray,
    grid: FloatArray,
    ln_scale: FloatArray,
    scale: FloatArray,
    row_expiry: IntArray,
    ln_k: FloatArray,
    s: FloatArray,
    coef: FloatArray,
    out: FloatArray,
) -> None:
    """Fill ``out[e, j]`` with ``U_ej * sum_i coef_i exp(-d1^2 / 2)``, ``U_ej = grid_j scale_e``.

    ``d1 = (ln U_ej - ln K_i) / s_i + s_i / 2``; ``coef_i = 0.01 D_e sign OI mult / (s_i sqrt(2 pi))``
    so each term is ``sign * Gamma * OI * mult * U^2 * 0.01`` (dollars per 1% move).
    """
    n_exp, n = out.shape
    for e in range(n_exp):
        for j in range(n):
            out[e, j] = 0.0
    for i in range(row_expiry.shape[0]):
        e = row_expiry[i]
        inv_s = 1.0 / s[i]
        a = (ln_scale[e] - ln_k[i]) * inv_s + 0.5 * s[i]
        c = coef[i]
        for j in range(n):
            d = ln_grid[j] * inv_s + a
            out[e, j] += c * math.exp(-0.5 * d * d)
    for e in range(n_exp):
        for j in range(n):
            out[e, j] *= grid[j] * scale[e]


def _crossings_kernel_py(grid: FloatArray, values: FloatArray, out: FloatArray) -> int:
    """Write every sign change of ``values`` (price units) into ``out``; return how many."""
    count = 0
    prev = -1
    for j in range(values.shape[0]):
        v = values[j]
        if v == 0.0:
            continue
        if prev >= 0 and (v > 0.0) != (values[prev] > 0.0):
            if prev == j - 1:
                vp = values[prev]
                out[count] = grid[prev] + (grid[j] - grid[prev]) * (vp / (vp - v))
            else:  # a run of exact zeros between opposite signs: its middle
                out[count] = 0.5 * (grid[prev + 1] + grid[j - 1])
            count += 1
        prev = j
    return count


def _local_max_kernel_py(a: FloatArray, out: IntArray) -> int:
    """Indices of interior local maxima of ``a`` (first point of a plateau); return how many."""
    n = a.shape[0]
    count = 0
    j = 1
    while j < n - 1:
        if a[j] > a[j - 1]:
            m = j
            while m < n - 1 and a[m + 1] == a[j]:
                m += 1
            if m < n - 1 and a[m + 1] < a[j]:
                out[count] = j
                count += 1
            j = m + 1
        else:
            j += 1
    return count


_surface_kernel = jit(_surface_kernel_py)
_crossings_kernel = jit(_crossings_kernel_py)
_local_max_kernel = jit(_local_max_kernel_py)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _real(value: object, name: str, *, positive: bool = False, unit: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    out = float(value)
    if positive and out <= 0.0:
        raise ValueError(f"{name} must be > 0, got {out!r}")
    if unit and not 0.0 <= out <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {out!r}")
    return out


def _flags_1d(value: ArrayLike, name: str, n: int) -> BoolArray:
    arr = np.asarray(value)
    if arr.dtype != np.bool_:
        if not np.issubdtype(arr.dtype, np.integer) or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1 integers)")
        arr = arr.astype(np.bool_)
    if arr.ndim == 0:
        arr = np.full(n, bool(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _grid_1d(grid: ArrayLike) -> FloatArray:
    g = float_1d(grid, "grid", scalar="broadcast")
    if g.shape[0] < 2:
        raise ValueError(f"grid needs at least 2 points, got {g.shape[0]}")
    if not np.isfinite(g).all() or g[0] <= 0.0:
        raise ValueError("grid must be finite and positive")
    if not (np.diff(g) > 0.0).all():
        raise ValueError("grid must be strictly increasing")
    return g


def _curve(grid: ArrayLike, gex: ArrayLike) -> tuple[FloatArray, FloatArray]:
    g = _grid_1d(grid)
    v = float_1d(gex, "gex", length=g.shape[0], scalar="broadcast")
    if not np.isfinite(v).all():
        raise ValueError("gex must be finite")
    return g, v


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def dealer_sign(is_call: ArrayLike, convention: DealerConvention = DEFAULT_CONVENTION) -> FloatArray:
    """Dealer gamma sign per option (+1.0 or -1.0) under ``convention``.

    Parameters
    ----------
    is_call
        Boolean array (True call, False put), any shape.
    convention
        A :class:`DealerConvention`.

    Returns
    -------
    FloatArray
        +1.0/-1.0 of the shape of ``is_call``.

    Raises
    ------
    ValueError
        If ``convention`` is not a :class:`DealerConvention` or ``is_call`` is not boolean.
    """
    if not isinstance(convention, DealerConvention):
        raise ValueError(f"convention must be a DealerConvention, got {convention!r}")
    flags = np.asarray(is_call)
    if flags.dtype != np.bool_:
        if not np.issubdtype(flags.dtype, np.integer) or not np.isin(flags, (0, 1)).all():
            raise ValueError("is_call must be boolean (or 0/1 integers)")
        flags = flags.astype(np.bool_)
    return np.where(flags, convention.call_sign, convention.put_sign).astype(np.float64)


def time_weights(T: ArrayLike, *, floor_years: float = _ONE_DAY_YEARS) -> FloatArray:
    """Expiry weights ``w_e ~ 1/sqrt(max(T_e, floor_years))``, normalised to sum 1.

    Parameters
    ----------
    T
        Times to expiry in years (1-D, finite, > 0).
    floor_years
        Floor on ``T`` in years (default one day), > 0.

    Returns
    -------
    FloatArray
        Weights (dimensionless, sum 1; nearer expiries heavier). Empty for empty ``T``.

    Raises
    ------
    ValueError
        On a non-1-D, non-finite or non-positive ``T`` or a non-positive floor.
    """
    floor = _real(floor_years, "floor_years", positive=True)
    t = float_1d(T, "T", scalar="broadcast")
    if not np.isfinite(t).all() or (t <= 0.0).any():
        raise ValueError("T must be finite and > 0 (years); drop expired expiries first")
    if t.shape[0] == 0:
        return t.copy()
    raw = 1.0 / np.sqrt(np.maximum(t, floor))
    weights: FloatArray = raw / raw.sum()
    return weights


def price_grid(reference_price: float, lo: float = 0.8, hi: float = 1.2, n: int = 401) -> FloatArray:
    """Evenly spaced grid ``lo * F0 .. hi * F0`` (price units) with ``n`` points.

    Parameters
    ----------
    reference_price
        Reference futures price ``F0`` (price units, > 0).
    lo, hi
        Grid ends as fractions of ``F0``, ``0 < lo < hi``.
    n
        Number of points (integer >= 3).

    Returns
    -------
    FloatArray
        Strictly increasing grid of ``n`` prices.

    Raises
    ------
    ValueError
        On invalid arguments.
    """
    f0 = _real(reference_price, "reference_price", positive=True)
    lo_ = _real(lo, "lo", positive=True)
    hi_ = _real(hi, "hi", positive=True)
    if not lo_ < hi_:
        raise ValueError(f"need lo < hi, got lo={lo_!r}, hi={hi_!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 3:
        raise ValueError(f"n must be an integer >= 3, got {n!r}")
    return np.linspace(lo_ * f0, hi_ * f0, int(n))


def gex_surface(
    grid: ArrayLike,
    reference_price: float,
    expiry_forward: ArrayLike,
    expiry_T: ArrayLike,
    rate: float,
    expiry_index: ArrayLike,
    strike: ArrayLike,
    is_call: ArrayLike,
    oi: ArrayLike,
    iv: ArrayLike,
    multiplier: ArrayLike,
    *,
    convention: DealerConvention = DEFAULT_CONVENTION,
    weights: ArrayLike | None = None,
) -> GexSurface:
    """Dealer GEX re-priced over a price grid, per expiry and time-weighted (module docstring).

    Parameters
    ----------
    grid
        Strictly increasing positive prices (price units of the reference futures), e.g.
        :func:`price_grid`.
    reference_price
        Reference futures price ``F0`` (price units, > 0) the grid is expressed in.
    expiry_forward
        Futures price ``F_e`` underlying each expiry (price units, > 0), shape ``(E,)``.
    expiry_T
        Time to expiry of each expiry in years (> 0), shape ``(E,)``.
    rate
        Discount rate per year (continuously compounded) for ``D_e = exp(-rate T_e)``.
    expiry_index
        Expiry of each option row, integers in ``[0, E)``, shape ``(m,)``.
    strike
        Strikes (price units, > 0), shape ``(m,)``.
    is_call
        True for calls, False for puts, shape ``(m,)``.
    oi
        Open interest (contracts, finite, >= 0), shape ``(m,)``.
    iv
        Annualised implied volatility per row; NaN or <= 0 rows are skipped and counted.
    multiplier
        Contract multiplier per row or a scalar (dollars per price unit, > 0).
    convention
        Dealer sign convention (default: long calls +, short puts -).
    weights
        Optional expiry weights (``(E,)``, finite, >= 0, positive sum; normalised here) instead of
        :func:`time_weights`.

    Returns
    -------
    GexSurface
        Per-expiry and combined surfaces in dollars per 1% move.

    Raises
    ------
    ValueError
        On invalid or inconsistent inputs (messages name the argument).
    """
    if not isinstance(convention, DealerConvention):
        raise ValueError(f"convention must be a DealerConvention, got {convention!r}")
    g = _grid_1d(grid)
    f0 = _real(reference_price, "reference_price", positive=True)
    r = _real(rate, "rate")
    fwd = float_1d(expiry_forward, "expiry_forward", scalar="broadcast")
    n_exp = fwd.shape[0]
    if n_exp == 0:
        raise ValueError("need at least one expiry")
    t = float_1d(expiry_T, "expiry_T", length=n_exp, scalar="broadcast")
    if not np.isfinite(fwd).all() or (fwd <= 0.0).any():
        raise ValueError("expiry_forward must be finite and > 0")
    if not np.isfinite(t).all() or (t <= 0.0).any():
        raise ValueError("expiry_T must be finite and > 0 (years); drop expired expiries first")
    idx = np.asarray(expiry_index)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError("expiry_index must be a 1-D integer array")
    m = idx.shape[0]
    if m and (idx.min() < 0 or idx.max() >= n_exp):
        raise ValueError(f"expiry_index must be in [0, {n_exp})")
    k = float_1d(strike, "strike", length=m, scalar="broadcast")
    flags = _flags_1d(is_call, "is_call", m)
    o = float_1d(oi, "oi", length=m, scalar="broadcast")
    vol = float_1d(iv, "iv", length=m, scalar="broadcast")
    mult = float_1d(multiplier, "multiplier", length=m, scalar="broadcast")
    if not np.isfinite(k).all() or (k <= 0.0).any():
        raise ValueError("strike must be finite and > 0")
    if not np.isfinite(o).all() or (o < 0.0).any():
        raise ValueError("oi must be finite and >= 0")
    if not np.isfinite(mult).all() or (mult <= 0.0).any():
        raise ValueError("multiplier must be finite and > 0")
    if np.isinf(vol).any():
        raise ValueError("iv must not be infinite")

    used = np.isfinite(vol) & (vol > 0.0)
    n_skipped = int(m - np.count_nonzero(used))
    e_u, k_u, v_u = idx[used].astype(np.int64), k[used], vol[used]
    signed = dealer_sign(flags[used], convention) * o[used] * mult[used]

    # one row per (expiry, strike, iv): calls and puts sharing an IV share a gamma
    if e_u.size:
        order = np.lexsort((v_u, k_u, e_u))
        e_s, k_s, v_s = e_u[order], k_u[order], v_u[order]
        first = np.ones(e_s.shape[0], dtype=np.bool_)
        first[1:] = (e_s[1:] != e_s[:-1]) | (k_s[1:] != k_s[:-1]) | (v_s[1:] != v_s[:-1])
        starts = np.flatnonzero(first)
        net = np.add.reduceat(signed[order], starts)
        row_e, row_k, row_v = e_s[starts], k_s[starts], v_s[starts]
    else:
        row_e, row_k, row_v, net = (np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0))
    s = row_v * np.sqrt(t[row_e])
    coef = 0.01 * np.exp(-r * t[row_e]) * net * _INV_SQRT_2PI / s

    per_expiry = np.empty((n_exp, g.shape[0]), dtype=np.float64)
    scale = fwd / f0
    _surface_kernel(np.log(g), g, np.log(scale), scale, row_e, np.log(row_k), s, coef, per_expiry)

    has_rows = np.zeros(n_exp, dtype=np.bool_)
    has_rows[e_u] = True
    w = np.zeros(n_exp, dtype=np.float64)
    if weights is None:
        if has_rows.any():
            w[has_rows] = time_weights(t[has_rows])
    else:
        w_in = float_1d(weights, "weights", length=n_exp, scalar="broadcast")
        if not np.isfinite(w_in).all() or (w_in < 0.0).any() or w_in.sum() <= 0.0:
            raise ValueError("weights must be finite, >= 0, with a positive sum")
        w = w_in / w_in.sum()
    combined = w @ per_expiry
    return GexSurface(
        grid=g,
        per_expiry=per_expiry,
        weights=w,
        combined=combined,
        n_used=int(m - n_skipped),
        n_skipped=n_skipped,
    )


def zero_gamma(grid: ArrayLike, gex: ArrayLike, reference_price: float) -> ZeroGamma:
    """All sign changes of a GEX curve and the one nearest ``reference_price``.

    Parameters
    ----------
    grid
        Strictly increasing prices (price units).
    gex
        GEX at the grid prices (e.g. :attr:`GexSurface.combined`), finite.
    reference_price
        Current futures price (price units); the zero-gamma level is the crossing nearest it
        (the lower one on a tie).

    Returns
    -------
    ZeroGamma
        ``level`` (NaN when there is no crossing), all ``crossings`` ascending, and the status.

    Raises
    ------
    ValueError
        On an invalid grid/curve or reference price.
    """
    g, v = _curve(grid, gex)
    p0 = _real(reference_price, "reference_price", positive=True)
    buf = np.empty(g.shape[0], dtype=np.float64)
    count = _crossings_kernel(g, v, buf)
    crossings = buf[:count].copy()
    if count == 0:
        return ZeroGamma(level=math.nan, crossings=crossings, status="no_crossing")
    level = float(crossings[int(np.argmin(np.abs(crossings - p0)))])
    return ZeroGamma(level=level, crossings=crossings, status="ok")


def gamma_walls(
    grid: ArrayLike,
    gex: ArrayLike,
    strike: ArrayLike,
    oi: ArrayLike,
    *,
    oi_quantile: float = 0.8,
    snap_frac: float = 0.01,
    n_walls: int = 2,
) -> GammaWalls:
    """Dealer walls: local maxima of |GEX| attributed to nearby large-OI strikes (module docstring).

    Parameters
    ----------
    grid
        Strictly increasing prices (price units).
    gex
        GEX at the grid prices (dollars per 1% move), finite.
    strike
        Strike of each option row (price units, > 0); rows at one strike are summed.
    oi
        Open interest of each row (contracts, >= 0).
    oi_quantile
        Quantile of strike OI (strikes inside the grid, OI > 0) at or above which a strike is
        "large", in [0, 1].
    snap_frac
        A local maximum at ``P`` belongs to the nearest large-OI strike within ``snap_frac * P``
        (> 0).
    n_walls
        How many walls to return (integer >= 1).

    Returns
    -------
    GammaWalls
        Walls strongest first, NaN-padded to ``n_walls``.

    Raises
    ------
    ValueError
        On invalid inputs.
    """
    g, v = _curve(grid, gex)
    k = float_1d(strike, "strike", scalar="broadcast")
    o = float_1d(oi, "oi", length=k.shape[0], scalar="broadcast")
    q = _real(oi_quantile, "oi_quantile", unit=True)
    snap = _real(snap_frac, "snap_frac", positive=True)
    if isinstance(n_walls, bool) or not isinstance(n_walls, numbers.Integral) or n_walls < 1:
        raise ValueError(f"n_walls must be an integer >= 1, got {n_walls!r}")
    if not np.isfinite(k).all() or (k <= 0.0).any():
        raise ValueError("strike must be finite and > 0")
    if not np.isfinite(o).all() or (o < 0.0).any():
        raise ValueError("oi must be finite and >= 0")

    level = np.full(n_walls, np.nan)
    extremum = np.full(n_walls, np.nan)
    wall_gex = np.full(n_walls, np.nan)
    strength = np.full(n_walls, np.nan)
    wall_oi = np.full(n_walls, np.nan)

    strikes, inverse = np.unique(k, return_inverse=True)
    strike_oi = np.bincount(inverse.reshape(-1), weights=o, minlength=strikes.shape[0])
    inside = (strikes >= g[0]) & (strikes <= g[-1]) & (strike_oi > 0.0)
    if not inside.any():
        return GammaWalls(level, extremum, wall_gex, strength, wall_oi, math.nan, "no_walls")
    threshold = float(np.quantile(strike_oi[inside], q))
    large = inside & (strike_oi >= threshold)
    big_k, big_oi = strikes[large], strike_oi[large]

    a = np.abs(v)
    buf = np.empty(g.shape[0], dtype=np.int64)
    count = _local_max_kernel(a, buf)
    best: dict[int, int] = {}  # large-strike position -> grid index of its largest maximum
    for j in buf[:count]:
        pos = int(np.argmin(np.abs(big_k - g[j])))
        if abs(big_k[pos] - g[j]) > snap * g[j]:
            continue
        if pos not in best or a[j] > a[best[pos]]:
            best[pos] = int(j)
    ranked = sorted(best.items(), key=lambda item: -a[item[1]])[:n_walls]
    mean_abs = float(a.mean())
    for slot, (pos, j) in enumerate(ranked):
        level[slot] = big_k[pos]
        extremum[slot] = g[j]
        wall_gex[slot] = v[j]
        strength[slot] = a[j] / mean_abs if mean_abs > 0.0 else math.nan
        wall_oi[slot] = big_oi[pos]
    status: Literal["ok", "fewer_walls", "no_walls"] = (
        "ok" if len(ranked) == n_walls else ("no_walls" if not ranked else "fewer_walls")
    )
    return GammaWalls(level, extremum, wall_gex, strength, wall_oi, threshold, status)


def rejection_features(
    grid: ArrayLike,
    gex: ArrayLike,
    price: float,
    wall: float,
    sigma_f: float,
    horizon_years: float,
    *,
    wall_extremum: float | None = None,
) -> tuple[float, float]:
    """SPEC's ``(g, z)`` for one wall (see the module docstring).

    Parameters
    ----------
    grid
        Strictly increasing prices (price units).
    gex
        GEX at the grid prices (dollars per 1% move), finite.
    price
        Current futures price ``P_0`` (price units).
    wall
        Wall strike ``K_wall`` (price units); NaN gives ``(nan, nan)``.
    sigma_f
        Futures volatility in price units per sqrt(year) (e.g. annualised vol times ``F``), > 0.
    horizon_years
        Horizon ``H`` in years, > 0.
    wall_extremum
        Grid price of the wall's |GEX| maximum (:attr:`GammaWalls.extremum`); defaults to ``wall``.

    Returns
    -------
    (float, float)
        ``g`` = steepest ``|dGEX/dP|`` on the wall's flank facing ``P_0`` over the median
        ``|dGEX/dP|`` on the grid (dimensionless; NaN if that median is 0), and
        ``z = |P_0 - K_wall| / (sigma_f sqrt(H))`` (standard deviations).

    Raises
    ------
    ValueError
        On invalid inputs.
    """
    g, v = _curve(grid, gex)
    p0 = _real(price, "price", positive=True)
    sig = _real(sigma_f, "sigma_f", positive=True)
    h = _real(horizon_years, "horizon_years", positive=True)
    if isinstance(wall, bool) or not isinstance(wall, numbers.Real):
        raise ValueError(f"wall must be a number, got {wall!r}")
    if math.isnan(float(wall)):
        return math.nan, math.nan
    k_wall = _real(wall, "wall", positive=True)
    z = abs(p0 - k_wall) / (sig * math.sqrt(h))

    slope = np.abs(np.gradient(v, g))
    med = float(np.median(slope))
    start_price = k_wall if wall_extremum is None else _real(wall_extremum, "wall_extremum", positive=True)
    j0 = int(np.argmin(np.abs(g - start_price)))
    a = np.abs(v)
    n = g.shape[0]
    if p0 > g[j0]:
        steps = [1]
    elif p0 < g[j0]:
        steps = [-1]
    else:
        steps = [-1, 1]
    flank = [j0]
    for step in steps:
        j = j0
        while 0 <= j + step < n and a[j + step] <= a[j]:
            j += step
            flank.append(j)
            if (step > 0 and g[j] >= p0) or (step < 0 and g[j] <= p0):
                break
    if med <= 0.0:
        return math.nan, z
    return float(slope[flank].max()) / med, z


def p_reject(g: ArrayLike, z: ArrayLike, alpha: float | None, beta: float | None) -> FloatArray:
    """``sigmoid(alpha g - beta z)``; NaN everywhere when ``alpha`` or ``beta`` is missing.

    Parameters
    ----------
    g
        Normalised GEX slope at the wall (dimensionless), any shape.
    z
        Distance to the wall in standard deviations over the horizon, broadcastable with ``g``.
    alpha, beta
        Calibrated coefficients (:func:`mes_assets.kernels.logistic.fit_alpha_beta`); None or NaN
        means uncalibrated.

    Returns
    -------
    FloatArray
        Probabilities in [0, 1] (NaN where ``g`` or ``z`` is NaN, or everywhere when uncalibrated).

    Raises
    ------
    ValueError
        On an infinite coefficient or shapes that do not broadcast.
    """
    try:
        gg, zz = np.broadcast_arrays(np.asarray(g, dtype=np.float64), np.asarray(z, dtype=np.float64))
    except ValueError as exc:
        raise ValueError(f"g and z do not broadcast together: {exc}") from None
    coeffs = []
    for name, c in (("alpha", alpha), ("beta", beta)):
        if c is None or (isinstance(c, numbers.Real) and not isinstance(c, bool) and math.isnan(float(c))):
            return np.full(gg.shape, np.nan)
        coeffs.append(_real(c, name))
    x = coeffs[0] * gg - coeffs[1] * zz
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    e = np.exp(-np.abs(x[ok]))
    out[ok] = np.where(x[ok] >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out
