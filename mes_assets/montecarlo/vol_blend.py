"""The Monte-Carlo volatility: a blend of VIX and trailing realized vol, in price units per step.

Also the backtest's choice of blend weight.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mes_assets.kernels.types import ArrayLike, FloatArray
from mes_assets.kernels.validate import (
    binary_outcome,
    finite_positive,
    float_1d,
    int_at_least,
    probability_1d,
    unit_weight,
)
from mes_assets.montecarlo.forecasts import METHOD_VERSION

MIN_ORIGINS = 200
"""Minimum scored origin-level rows (pairs of origin and level) before a blend weight is chosen."""


_MAX_ANNUAL_VOL = 5.0  # an annualised vol above 500 % is a units error (percent passed for decimal)


# --------------------------------------------------------------------------------------------
# (a) volatility blend
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BlendedSigma:
    """Annualised volatility per origin from :func:`vol_blend_sigma`.

    Attributes
    ----------
    sigma
        Annualised volatility (decimal), NaN where ``source == "missing"``.
    source
        Per origin (numpy array of str): ``"blend"`` (both sources, ``0 < weight < 1``), ``"vix"``
        (``weight == 1``), ``"realized"`` (``weight == 0``), ``"realized_fallback"`` (VIX missing,
        realised vol used alone, only with ``on_missing_vix="realized"``), ``"missing"`` (a needed
        input missing, only with ``on_missing_vix="nan"``).
    weight
        The VIX weight used.
    """

    sigma: FloatArray
    source: np.ndarray
    weight: float


def vol_blend_sigma(
    vix_annual: ArrayLike,
    realized_annual: ArrayLike,
    weight: float,
    *,
    on_missing_vix: Literal["raise", "realized", "nan"] = "raise",
) -> BlendedSigma:
    """Blend implied (VIX) and realised volatility: ``sigma = weight * vix + (1 - weight) * realized``.

    A linear blend of volatilities (not of variances), both annualised decimals. The weight is the
    calibrated quantity (:func:`choose_blend`); SPEC section 2 makes VIX primary and realised vol
    the alternative, section 8 asks for the blend.

    Parameters
    ----------
    vix_annual
        Implied vol per origin, annualised decimal (FRED VIXCLS / 100), NaN where missing.
    realized_annual
        Realised vol per origin, annualised decimal, NaN where missing; same length.
    weight
        VIX weight in [0, 1]. ``weight == 1`` never reads ``realized_annual`` and ``weight == 0``
        never reads ``vix_annual`` (a NaN there is then not "missing").
    on_missing_vix
        What a needed but missing input does: ``"raise"`` (default) raises ``ValueError`` naming the
        first such origin; ``"realized"`` uses realised vol alone where VIX is missing (source
        ``"realized_fallback"``; a missing realised vol is then an error); ``"nan"`` leaves
        ``sigma`` NaN with source ``"missing"`` for the caller to drop.

    Returns
    -------
    BlendedSigma
        ``sigma`` (annualised decimal), ``source`` per origin, ``weight``.

    Raises
    ------
    ValueError
        On shapes, infinite or non-positive vols, vols above 5.0 (500 %: percent passed as a
        decimal), a weight outside [0, 1], an unknown ``on_missing_vix``, or a missing input under
        ``"raise"``.
    """
    w = unit_weight(weight)
    if on_missing_vix not in ("raise", "realized", "nan"):
        raise ValueError(f"on_missing_vix must be 'raise', 'realized' or 'nan', got {on_missing_vix!r}")
    vix = float_1d(vix_annual, "vix_annual", scalar="one", finite=True, allow_nan=True)
    rv = float_1d(realized_annual, "realized_annual", scalar="one", finite=True, allow_nan=True)
    if vix.shape != rv.shape:
        raise ValueError(
            f"vix_annual and realized_annual must have the same length, got {vix.shape[0]} and {rv.shape[0]}"
        )
    for name, arr in (("vix_annual", vix), ("realized_annual", rv)):
        bad = np.flatnonzero(~np.isnan(arr) & ((arr <= 0.0) | (arr > _MAX_ANNUAL_VOL)))
        if bad.size:
            raise ValueError(
                f"{name} must be an annualised decimal in (0, {_MAX_ANNUAL_VOL}] (divide percent by 100); "
                f"index {int(bad[0])} holds {arr[bad[0]]!r}"
            )
    n = vix.shape[0]
    vix_missing = np.isnan(vix) if w > 0.0 else np.zeros(n, dtype=bool)
    rv_missing = np.isnan(rv) if w < 1.0 else np.zeros(n, dtype=bool)
    label = "vix" if w == 1.0 else ("realized" if w == 0.0 else "blend")
    source = np.full(n, label, dtype="<U17")
    # a NaN input that the weight does not need (weight 0 or 1) is multiplied by 0, so zero it first
    sigma = w * np.where(np.isnan(vix), 0.0, vix) + (1.0 - w) * np.where(np.isnan(rv), 0.0, rv)
    if on_missing_vix == "raise":
        for name, miss in (("vix_annual", vix_missing), ("realized_annual", rv_missing)):
            bad = np.flatnonzero(miss)
            if bad.size:
                raise ValueError(
                    f"{name} is missing (NaN) at {bad.size} origin(s), first index {int(bad[0])}, and weight={w} "
                    "needs it; drop those origins or pass on_missing_vix='realized' or 'nan'"
                )
    elif on_missing_vix == "realized":
        bad = np.flatnonzero(np.isnan(rv) & (vix_missing | rv_missing))
        if bad.size:
            raise ValueError(
                f"realized_annual is missing (NaN) at index {int(bad[0])} where it is needed "
                "(fallback for a missing VIX, or weight < 1)"
            )
        sigma = np.where(vix_missing, rv, sigma)
        source[vix_missing] = "realized_fallback"
    else:
        missing = vix_missing | rv_missing
        sigma[missing] = np.nan
        source[missing] = "missing"
    sigma.setflags(write=False)
    source.setflags(write=False)
    return BlendedSigma(sigma=sigma, source=source, weight=w)


def price_sigma(spot: ArrayLike, sigma_annual: ArrayLike, years_per_unit: float) -> FloatArray:
    """Price volatility ``spot * sigma_annual * sqrt(years_per_unit)`` (price units per sqrt(time unit)).

    Parameters
    ----------
    spot
        Prices at the origins (price units), > 0.
    sigma_annual
        Annualised volatility (decimal), same shape or scalar; NaN passes through.
    years_per_unit
        Length of one time unit in years under the caller's day count, > 0 (e.g. ``1 / 252`` for
        trading days, ``1 / (252 * 390)`` for RTH minutes of ES).

    Returns
    -------
    FloatArray
        The local (arithmetic) volatility at the origin's price level.
    """
    ypu = finite_positive(years_per_unit, "years_per_unit")
    s = np.asarray(spot, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s <= 0.0):
        raise ValueError("spot must be finite and > 0")
    return np.asarray(s * np.asarray(sigma_annual, dtype=np.float64) * math.sqrt(ypu), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# (f) blend choice
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BlendChoice:
    """The chosen VIX weight (:func:`choose_blend`).

    Attributes
    ----------
    status
        ``"calibrated"`` or ``"uncalibrated"``.
    weight
        The VIX weight with the lowest Brier score; None when uncalibrated.
    brier
        Brier score per candidate weight (ascending weights); empty when nothing was scored.
    n_scored
        Scored origin-level rows.
    version
        ``"mccal-1:<16 hex>"``, a sha256 over the description, the weights and the data.
    reason
        Why uncalibrated (empty when calibrated).
    """

    status: Literal["calibrated", "uncalibrated"]
    weight: float | None
    brier: dict[float, float]
    n_scored: int
    version: str
    reason: str


def choose_blend(
    candidates: Mapping[float, ArrayLike],
    outcome: ArrayLike,
    *,
    description: Mapping[str, object],
    min_origins: int = MIN_ORIGINS,
) -> BlendChoice:
    """Choose the VIX/realised blend weight with the lowest Brier score on the backtest rows.

    Typical use, with common random numbers across weights (same seed)::

        cands = {w: tap_forecasts(spot, lv, org, price_sigma(spot, vol_blend_sigma(vix, rv, w).sigma,
                                  ypu), H, q, engine="exact").tap_prob for w in np.linspace(0, 1, 11)}
        choice = choose_blend(cands, observed_touches(hi, lo, lv, side, org),
                              description={"symbol": "ES", "horizon": "60m", "history_end": "..."})

    Parameters
    ----------
    candidates
        VIX weight in [0, 1] -> forecast probabilities of every scored row (all the same length
        as ``outcome``, the same rows in the same order).
    outcome
        Realised touches, 0/1, one per row.
    description
        JSON-serialisable description of the inputs (symbol, horizon, date range, engine, seed,
        day count, ...); hashed into ``version`` (non-JSON values via ``str``).
    min_origins
        Minimum scored origin-level rows (integer >= 1).

    Returns
    -------
    BlendChoice
        Weight (None when uncalibrated), Brier per weight, row count, version, reason.

    Raises
    ------
    ValueError
        On no candidates, weights outside [0, 1], mismatched lengths, probabilities outside [0, 1]
        or outcomes not 0/1.
    """
    minimum = int_at_least(min_origins, "min_origins", 1)
    if not candidates:
        raise ValueError("need at least one candidate weight")
    o = binary_outcome(outcome)
    n = o.shape[0]
    weights = sorted(unit_weight(w) for w in candidates)
    if len(set(weights)) != len(weights):
        raise ValueError("candidate weights must be distinct")
    by_weight = {unit_weight(w): probability_1d(p, f"candidates[{w}]", n) for w, p in candidates.items()}
    digest = hashlib.sha256(o.astype(np.int8).tobytes())
    for w in weights:
        digest.update(np.float64(w).tobytes())
        digest.update(by_weight[w].tobytes())
    payload = json.dumps(
        {"method": METHOD_VERSION, "description": dict(description), "weights": weights, "n_scored": n,
         "data_sha256": digest.hexdigest()},
        sort_keys=True, default=str,
    )  # fmt: skip
    version = f"{METHOD_VERSION}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
    brier = {w: float(np.mean((by_weight[w] - o) ** 2)) for w in weights} if n else {}
    if n < minimum:
        return BlendChoice(
            status="uncalibrated", weight=None, brier=brier, n_scored=n, version=version,
            reason=f"{n} scored origin-level rows < min_origins={minimum}",
        )  # fmt: skip
    best = min(weights, key=lambda w: (brier[w], w))
    return BlendChoice(status="calibrated", weight=best, brier=brier, n_scored=n, version=version, reason="")
