"""Black-76 prices, delta, gamma and implied volatility for options on futures.

Why Black-76: CME options on ES/MES/ZL are options on a futures contract, so the forward is the
futures price ``F`` itself and the only discounting is of the premium (``D = exp(-r T)``).

Definitions (``F`` futures price and ``K`` strike in price units, ``T`` time to expiry in years,
``r`` continuously compounded rate per year, ``sigma`` annualised volatility):

* ``s = sigma * sqrt(T)`` (total standard deviation), ``d1 = (ln(F/K) + s^2/2) / s``,
  ``d2 = d1 - s``, ``N`` the standard normal CDF and ``phi`` its density.
* Price: call ``D (F N(d1) - K N(d2))``; put ``D (K N(-d2) - F N(-d1))``.
* Delta (dV/dF): call ``D N(d1)``; put ``-D N(-d1)``.
* Gamma (d2V/dF2, per price unit, equal for calls and puts): ``D phi(d1) / (F s)``.

Outside the domain (``T <= 0``, ``sigma <= 0``, ``F <= 0``, ``K <= 0`` or a non-finite input) the
price and Greeks are NaN: an expired option has no gamma to hedge, and a zero volatility has none
that a surface could use.

Implied volatility
------------------
:func:`implied_vol` inverts the price for ``sigma``. The premium is undiscounted (``u = price/D``)
and split into intrinsic value and time value ``tv = u - intrinsic``; by put-call parity the time
value of either option equals the undiscounted price of the out-of-the-money option at that strike
(the call if ``K >= F``, else the put), which lies strictly between 0 and ``min(F, K)`` and is
increasing in ``s`` with derivative ``F phi(d1)`` (vega in ``s``). Solving on the out-of-the-money
side avoids the cancellation of a deep in-the-money premium. The root in ``s`` is found by a
bracketed, safeguarded Newton iteration (Newton steps that leave the bracket ``[lo, hi]`` or fail to
halve the previous step fall back to bisection, so it always converges), started at the inflection
point ``s = sqrt(2 |ln(F/K)|)`` of the price in ``s`` (Newton from there is monotone on either
side), or at the Brenner-Subrahmanyam estimate ``sqrt(2 pi) tv / F`` near the money. Then
``sigma = s / sqrt(T)``.

Every element gets a status code (int8, see :data:`IV_STATUS_NAMES`); the volatility is NaN unless
the status is :data:`IV_OK`:

* :data:`IV_BELOW_INTRINSIC` - premium below the discounted intrinsic value (no volatility
  reproduces it; e.g. a deep in-the-money settlement rounded down to the tick);
* :data:`IV_AT_INTRINSIC` - no time value (within rounding: ``|tv| <= 8 eps max(F, K)``), so the
  volatility is not identified (e.g. a far out-of-the-money option settled at zero);
* :data:`IV_ABOVE_UPPER_BOUND` - premium at or above the no-arbitrage bound (``D F`` for a call,
  ``D K`` for a put);
* :data:`IV_EXPIRED` - ``T <= 0``;
* :data:`IV_INVALID_INPUT` - a non-finite input, ``F <= 0`` or ``K <= 0``;
* :data:`IV_NOT_CONVERGED` - the iteration did not meet its tolerance (not expected; reported,
  never hidden).

:func:`iv_status_counts` turns a status array into a ``{name: count}`` dict (every name present)
for asset metadata.

The public functions broadcast their arguments like numpy ufuncs and return float64 arrays of the
broadcast shape (0-d arrays for scalar inputs). The private ``_..._kernel`` loops trust their
inputs (1-D, equal length, float64; ``is_call`` boolean).
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np

from mes_assets.kernels._numba import jit
from mes_assets.kernels.types import ArrayLike, BoolArray, FloatArray, Int8Array

__all__ = [
    "IV_ABOVE_UPPER_BOUND",
    "IV_AT_INTRINSIC",
    "IV_BELOW_INTRINSIC",
    "IV_EXPIRED",
    "IV_INVALID_INPUT",
    "IV_NOT_CONVERGED",
    "IV_OK",
    "IV_STATUS_NAMES",
    "delta",
    "gamma",
    "implied_vol",
    "iv_status_counts",
    "price",
]

IV_OK = 0
"""Implied volatility found."""
IV_BELOW_INTRINSIC = 1
"""Premium below the discounted intrinsic value."""
IV_AT_INTRINSIC = 2
"""Premium equal to the discounted intrinsic value within rounding (no time value)."""
IV_ABOVE_UPPER_BOUND = 3
"""Premium at or above the no-arbitrage upper bound (``D F`` call, ``D K`` put)."""
IV_EXPIRED = 4
"""``T <= 0``."""
IV_INVALID_INPUT = 5
"""Non-finite input, ``F <= 0`` or ``K <= 0``."""
IV_NOT_CONVERGED = 6
"""The safeguarded Newton iteration did not converge."""

IV_STATUS_NAMES: dict[int, str] = {
    IV_OK: "ok",
    IV_BELOW_INTRINSIC: "below_intrinsic",
    IV_AT_INTRINSIC: "at_intrinsic",
    IV_ABOVE_UPPER_BOUND: "above_upper_bound",
    IV_EXPIRED: "expired",
    IV_INVALID_INPUT: "invalid_input",
    IV_NOT_CONVERGED: "not_converged",
}
"""Status code -> name (the names are what asset metadata and status columns carry)."""

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_EPS = 2.220446049250313e-16
_S_MAX = 64.0  # total std dev; the OTM price equals min(F, K) in float64 long before this
_MAX_ITER = 200


# --------------------------------------------------------------------------------------------
# scalar helpers (jitted so the kernels can call them; importable as the *_py twins)
# --------------------------------------------------------------------------------------------
def _domain_ok_py(f: float, k: float, t: float, r: float, sigma: float) -> bool:
    """Whether the Black-76 price and Greeks are defined (finite, positive F, K, T, sigma)."""
    return (
        math.isfinite(f)
        and math.isfinite(k)
        and math.isfinite(t)
        and math.isfinite(r)
        and math.isfinite(sigma)
        and f > 0.0
        and k > 0.0
        and t > 0.0
        and sigma > 0.0
    )


def _otm_price_py(f: float, k: float, x: float, s: float) -> float:
    """Undiscounted price of the out-of-the-money option (call if ``k >= f``, else put).

    ``x = ln(f/k)``, ``s > 0`` total standard deviation; price units.
    """
    d1 = x / s + 0.5 * s
    d2 = d1 - s
    if k >= f:
        return f * 0.5 * math.erfc(-d1 / _SQRT2) - k * 0.5 * math.erfc(-d2 / _SQRT2)
    return k * 0.5 * math.erfc(d2 / _SQRT2) - f * 0.5 * math.erfc(d1 / _SQRT2)


_domain_ok = jit(_domain_ok_py)
_otm_price = jit(_otm_price_py)


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
def _price_kernel_py(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, sigma: FloatArray, is_call: BoolArray, out: FloatArray
) -> None:
    """Fill ``out`` with Black-76 premiums (price units; NaN outside the domain)."""
    for i in range(f.shape[0]):
        fi = f[i]
        ki = k[i]
        ti = t[i]
        if not _domain_ok(fi, ki, ti, r[i], sigma[i]):
            out[i] = np.nan
            continue
        s = sigma[i] * math.sqrt(ti)
        d1 = math.log(fi / ki) / s + 0.5 * s
        d2 = d1 - s
        disc = math.exp(-r[i] * ti)
        if is_call[i]:
            out[i] = disc * (fi * 0.5 * math.erfc(-d1 / _SQRT2) - ki * 0.5 * math.erfc(-d2 / _SQRT2))
        else:
            out[i] = disc * (ki * 0.5 * math.erfc(d2 / _SQRT2) - fi * 0.5 * math.erfc(d1 / _SQRT2))


def _delta_kernel_py(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, sigma: FloatArray, is_call: BoolArray, out: FloatArray
) -> None:
    """Fill ``out`` with dV/dF (per unit of futures price; NaN outside the domain)."""
    for i in range(f.shape[0]):
        fi = f[i]
        ti = t[i]
        if not _domain_ok(fi, k[i], ti, r[i], sigma[i]):
            out[i] = np.nan
            continue
        s = sigma[i] * math.sqrt(ti)
        d1 = math.log(fi / k[i]) / s + 0.5 * s
        disc = math.exp(-r[i] * ti)
        if is_call[i]:
            out[i] = disc * 0.5 * math.erfc(-d1 / _SQRT2)
        else:
            out[i] = -disc * 0.5 * math.erfc(d1 / _SQRT2)


def _gamma_kernel_py(
    f: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, sigma: FloatArray, out: FloatArray
) -> None:
    """Fill ``out`` with d2V/dF2 = D phi(d1) / (F s) (per price unit; NaN outside the domain)."""
    for i in range(f.shape[0]):
        fi = f[i]
        ti = t[i]
        if not _domain_ok(fi, k[i], ti, r[i], sigma[i]):
            out[i] = np.nan
            continue
        s = sigma[i] * math.sqrt(ti)
        d1 = math.log(fi / k[i]) / s + 0.5 * s
        out[i] = math.exp(-r[i] * ti - 0.5 * d1 * d1) * _INV_SQRT_2PI / (fi * s)


def _iv_kernel_py(
    premium: FloatArray,
    f: FloatArray,
    k: FloatArray,
    t: FloatArray,
    r: FloatArray,
    is_call: BoolArray,
    iv_out: FloatArray,
    status_out: Int8Array,
) -> None:
    """Fill ``iv_out`` (annualised vol, NaN unless OK) and ``status_out`` (IV_* codes)."""
    for i in range(f.shape[0]):
        iv_out[i] = np.nan
        p = premium[i]
        fi = f[i]
        ki = k[i]
        ti = t[i]
        ri = r[i]
        if not (
            math.isfinite(p) and math.isfinite(fi) and math.isfinite(ki) and math.isfinite(ti) and math.isfinite(ri)
        ) or not (fi > 0.0 and ki > 0.0):
            status_out[i] = IV_INVALID_INPUT
            continue
        if ti <= 0.0:
            status_out[i] = IV_EXPIRED
            continue
        u = p * math.exp(ri * ti)  # undiscounted premium
        if is_call[i]:
            intrinsic = fi - ki if fi > ki else 0.0
        else:
            intrinsic = ki - fi if ki > fi else 0.0
        tv = u - intrinsic  # = undiscounted OTM premium at this strike (put-call parity)
        bound = fi if fi < ki else ki
        tol = 8.0 * _EPS * (fi if fi > ki else ki)
        if tv < -tol:
            status_out[i] = IV_BELOW_INTRINSIC
            continue
        if tv <= tol:
            status_out[i] = IV_AT_INTRINSIC
            continue
        if tv >= bound - tol:
            status_out[i] = IV_ABOVE_UPPER_BOUND
            continue
        x = math.log(fi / ki)
        # bracket: q(lo) < tv <= q(hi); q(0+) = 0 and q(_S_MAX) = bound in float64
        lo = 0.0
        hi = 1.0
        while hi < _S_MAX and _otm_price(fi, ki, x, hi) < tv:
            lo = hi
            hi = 2.0 * hi
        if hi > _S_MAX:
            hi = _S_MAX
        if _otm_price(fi, ki, x, hi) < tv:  # indistinguishable from the upper bound in float64
            status_out[i] = IV_ABOVE_UPPER_BOUND
            continue
        s_infl = math.sqrt(2.0 * abs(x))
        if s_infl > 1e-3:
            s = s_infl
        else:
            s = _SQRT_2PI * tv / fi
        if not (lo < s < hi):
            s = 0.5 * (lo + hi)
        dx_old = hi - lo
        dx = dx_old
        status_out[i] = IV_NOT_CONVERGED
        for _ in range(_MAX_ITER):
            fval = _otm_price(fi, ki, x, s) - tv
            if fval == 0.0:
                status_out[i] = IV_OK
                break
            if fval < 0.0:
                lo = s
            else:
                hi = s
            d1 = x / s + 0.5 * s
            vega = fi * _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
            newton_ok = vega > 0.0
            if newton_ok:
                step = fval / vega
                s_new = s - step
                newton_ok = lo < s_new < hi and abs(2.0 * step) <= abs(dx_old)
            if newton_ok:
                dx_old = dx
                dx = step
            else:
                dx_old = dx
                s_new = 0.5 * (lo + hi)
                dx = s - s_new
            if abs(s_new - s) <= 4.0 * _EPS * s_new or hi - lo <= 4.0 * _EPS * hi:
                s = s_new
                status_out[i] = IV_OK
                break
            s = s_new
        if status_out[i] == IV_OK:
            iv_out[i] = s / math.sqrt(ti)


_price_kernel = jit(_price_kernel_py)
_delta_kernel = jit(_delta_kernel_py)
_gamma_kernel = jit(_gamma_kernel_py)
_iv_kernel = jit(_iv_kernel_py)


# --------------------------------------------------------------------------------------------
# public wrappers
# --------------------------------------------------------------------------------------------
@overload
def _prepare(
    values: tuple[ArrayLike, ...], is_call: ArrayLike
) -> tuple[tuple[int, ...], list[FloatArray], BoolArray]: ...


@overload
def _prepare(values: tuple[ArrayLike, ...], is_call: None = None) -> tuple[tuple[int, ...], list[FloatArray], None]: ...


def _prepare(
    values: tuple[ArrayLike, ...], is_call: ArrayLike | None = None
) -> tuple[tuple[int, ...], list[FloatArray], BoolArray | None]:
    """Broadcast the float inputs (and ``is_call``); return the shape and contiguous 1-D copies."""
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    flags = None
    if is_call is not None:
        flags = np.asarray(is_call)
        if flags.dtype != np.bool_:
            if not np.issubdtype(flags.dtype, np.integer) or not np.isin(flags, (0, 1)).all():
                raise ValueError("is_call must be boolean (or 0/1 integers)")
            flags = flags.astype(np.bool_)
    try:
        shape = np.broadcast_shapes(*[a.shape for a in arrays], *(() if flags is None else (flags.shape,)))
    except ValueError as exc:
        raise ValueError(f"inputs do not broadcast together: {exc}") from None
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape).reshape(-1)) for a in arrays]
    flat_flags = None if flags is None else np.ascontiguousarray(np.broadcast_to(flags, shape).reshape(-1))
    return shape, flat, flat_flags


def price(F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """Black-76 premium of a European option on a futures contract.

    Parameters
    ----------
    F
        Futures price (price units, > 0).
    K
        Strike (price units, > 0).
    T
        Time to expiry in years (> 0).
    r
        Continuously compounded discount rate per year.
    sigma
        Annualised volatility (> 0).
    is_call
        True for a call, False for a put.

    Returns
    -------
    FloatArray
        Premium in price units, broadcast shape; NaN where the inputs are outside the domain.

    Raises
    ------
    ValueError
        If the inputs do not broadcast together or ``is_call`` is not boolean.
    """
    shape, (f, k, t, rr, sig), flags = _prepare((F, K, T, r, sigma), is_call)
    out = np.empty(f.shape[0], dtype=np.float64)
    _price_kernel(f, k, t, rr, sig, flags, out)
    return out.reshape(shape)


def delta(F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """Black-76 futures delta dV/dF: call ``D N(d1)``, put ``-D N(-d1)``.

    Parameters
    ----------
    F, K, T, r, sigma, is_call
        As in :func:`price` (price units, years, per-year rate, annualised vol).

    Returns
    -------
    FloatArray
        Delta per unit of futures price (dimensionless), broadcast shape; NaN outside the domain.

    Raises
    ------
    ValueError
        If the inputs do not broadcast together or ``is_call`` is not boolean.
    """
    shape, (f, k, t, rr, sig), flags = _prepare((F, K, T, r, sigma), is_call)
    out = np.empty(f.shape[0], dtype=np.float64)
    _delta_kernel(f, k, t, rr, sig, flags, out)
    return out.reshape(shape)


def gamma(F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike) -> FloatArray:
    """Black-76 gamma ``exp(-r T) phi(d1) / (F sigma sqrt(T))`` (same for calls and puts).

    Parameters
    ----------
    F, K, T, r, sigma
        As in :func:`price` (price units, years, per-year rate, annualised vol).

    Returns
    -------
    FloatArray
        d2V/dF2 per price unit, broadcast shape; NaN outside the domain.

    Raises
    ------
    ValueError
        If the inputs do not broadcast together.
    """
    shape, (f, k, t, rr, sig), _ = _prepare((F, K, T, r, sigma))
    out = np.empty(f.shape[0], dtype=np.float64)
    _gamma_kernel(f, k, t, rr, sig, out)
    return out.reshape(shape)


def implied_vol(
    premium: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> tuple[FloatArray, Int8Array]:
    """Black-76 implied volatility from a premium (e.g. the exchange settlement).

    Parameters
    ----------
    premium
        Option premium in price units (discounted, as settled).
    F, K, T, r, is_call
        As in :func:`price` (price units, years, per-year rate).

    Returns
    -------
    (FloatArray, Int8Array)
        Annualised implied volatility (NaN unless the status is :data:`IV_OK`) and the int8 status
        codes (see the module docstring and :data:`IV_STATUS_NAMES`), both of the broadcast shape.
        The volatility reprices the premium to within a few ulps of ``F``.

    Raises
    ------
    ValueError
        If the inputs do not broadcast together or ``is_call`` is not boolean.
    """
    shape, (p, f, k, t, rr), flags = _prepare((premium, F, K, T, r), is_call)
    iv = np.empty(f.shape[0], dtype=np.float64)
    status = np.empty(f.shape[0], dtype=np.int8)
    _iv_kernel(p, f, k, t, rr, flags, iv, status)
    return iv.reshape(shape), status.reshape(shape)


def iv_status_counts(status: ArrayLike) -> dict[str, int]:
    """Count implied-volatility status codes by name.

    Parameters
    ----------
    status
        Status codes as returned by :func:`implied_vol` (any shape).

    Returns
    -------
    dict[str, int]
        ``{name: count}`` for every name in :data:`IV_STATUS_NAMES` (zeros included), in code order.

    Raises
    ------
    ValueError
        On a code that is not in :data:`IV_STATUS_NAMES`.
    """
    codes = np.asarray(status).reshape(-1)
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"status must be integer codes, got dtype {codes.dtype}")
    unknown = np.setdiff1d(np.unique(codes), list(IV_STATUS_NAMES))
    if unknown.size:
        raise ValueError(f"unknown implied-vol status code(s): {unknown.tolist()}")
    return {name: int(np.count_nonzero(codes == code)) for code, name in IV_STATUS_NAMES.items()}
