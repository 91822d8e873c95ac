"""The six entry checks of SPEC section 5 as pure functions over stored rows (procurement only).

Every check returns ``(passed, note)``; a check whose input is missing fails and says which input
(``note``), it never passes by default. Thresholds live in :class:`ChecklistConfig`, nowhere else.

1. **Model health** — for every horizon of the instrument, the latest ``predictions.model_metrics``
   row: coverage of the 80 % and 50 % bands within ``coverage_tolerance`` of nominal and pinball
   loss not worsening (``pinball_mean_change <= 0``).
2. **Regime** — ``predictions.regime_state``: status ok, confidence >= ``regime_confidence`` and
   today's regime seen in the training slice.
3. **Budget risk** — ``Pr(max price over budget_horizon >= budget_cap)`` from the Monte-Carlo
   kernel with the date's forecast and volatility (as ``mc_touches``): >= 30 % 'aggressive',
   15-30 % 'partial', < 15 % 'defer'; passes unless 'defer'. The cap is user configuration
   (``MES_BUDGET_CAP_<SYMBOL>``, price units); unset -> 'unset', which cannot pass.
4. **Confluence** — the close within ``confluence_sd`` one-day sd (close x realized_vol_20d /
   sqrt(252)) of the Fib 38.2 % or 61.8 % level, and a supportive gamma wall (a wall at or below
   the close, for a buyer) on the date.
5. **Positioning** — COT non-commercial net position below its ``cot_crowded_pctile`` percentile
   of the prior three years.
6. **Vol sanity** — VIX below ``vix_stress`` and the 1w band width (P90 - P10) not above its mean
   + ``width_sd`` sd over the previous ``width_window`` forecasts.

Verdict: 6/6 'EXECUTE' (tranche 100), 4-5 'PARTIAL' (50, ladder at the next Fib below the close),
<= 3 'WAIT' (0). Rationale: the two force-line groups with the largest |contribution| to the P50,
in bps of log return, e.g. "VIX contributed -18 bps to P50".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mes_assets.montecarlo.touches import TouchInputs, touch_rows

__all__ = ["CHECKS", "ChecklistConfig", "budget_cap", "evaluate_checklist"]

CALC_VERSION = "checklist-1.0.0"
CHECKS = ("model_health", "regime_valid", "budget_risk", "confluence", "positioning", "vol_sanity")
GROUP_NAMES = {"vix": "VIX", "yield": "Yield", "trump": "Trump/Policy", "cot": "COT"}


@dataclass(frozen=True)
class ChecklistConfig:
    coverage_tolerance: float = 0.07  # ~1.3 binomial sd of an 80 % band over 60 forecasts
    regime_confidence: float = 0.7
    budget_horizon: str = "1m"
    budget_aggressive: float = 0.30
    budget_partial: float = 0.15
    confluence_sd: float = 0.3
    cot_crowded_pctile: float = 90.0
    vix_stress: float = 30.0
    width_sd: float = 2.0
    width_window: int = 60


def budget_cap(symbol: str, environ: Mapping[str, str]) -> float | None:
    """The user's budget cap for ``symbol`` (``MES_BUDGET_CAP_<SYMBOL>`` of ``environ``, the
    process environment as defs/ passes it), None when unset."""
    raw = environ.get(f"MES_BUDGET_CAP_{symbol.upper()}", "").strip()
    if not raw:
        return None
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"MES_BUDGET_CAP_{symbol.upper()} must be a positive price, got {raw!r}")
    return value


def _model_health(metrics: list[dict[str, Any]], horizons: tuple[str, ...], cfg: ChecklistConfig) -> tuple[bool, str]:
    by_h = {m["horizon"]: m for m in metrics}
    for h in horizons:
        m = by_h.get(h)
        if m is None:
            return False, f"no model metrics for {h}"
        if abs(m["coverage_80"] - 0.8) > cfg.coverage_tolerance or abs(m["coverage_50"] - 0.5) > cfg.coverage_tolerance:
            return False, f"{h} coverage 80/50 = {m['coverage_80']:.2f}/{m['coverage_50']:.2f}"
        if m["pinball_mean_change"] is None:
            return False, f"{h} pinball trend not yet measurable"
        if m["pinball_mean_change"] > 0:
            return False, f"{h} pinball loss worsening"
    return True, "coverage in tolerance, pinball not worsening"


def _regime(regime: dict[str, Any] | None, cfg: ChecklistConfig) -> tuple[bool, str]:
    if regime is None or regime.get("status") != "ok":
        return False, f"no regime estimate ({(regime or {}).get('status', 'missing')})"
    if regime["confidence"] < cfg.regime_confidence:
        return False, f"regime confidence {regime['confidence']:.2f}"
    if not regime["in_training_slice"]:
        return False, f"{regime['regime']} regime not seen in training"
    return True, f"{regime['regime']} regime, confidence {regime['confidence']:.2f}"


def _budget(inputs: TouchInputs | None, cap: float | None, cfg: ChecklistConfig) -> tuple[str, float | None, str]:
    if cap is None:
        return "unset", None, "budget cap not configured"
    if inputs is None:
        return "unknown", None, "no price or volatility for the Monte-Carlo"
    rows, status = touch_rows(TouchInputs(**{**inputs.__dict__, "levels": {"budget_cap": cap}}), computed_at=None)
    if status != "ok":
        return "unknown", None, status
    p = rows[0]["tap_prob"]
    label = "aggressive" if p >= cfg.budget_aggressive else "partial" if p >= cfg.budget_partial else "defer"
    return label, p, f"Pr(price >= {cap:g} within {cfg.budget_horizon}) = {p:.2f}"


def _confluence(
    feature: dict[str, Any] | None, fib: dict[str, Any] | None, gamma: dict[str, Any] | None, cfg: ChecklistConfig
) -> tuple[bool, str]:
    if feature is None or fib is None:
        return False, "no fib levels" if feature else "no features"
    rv = feature.get("realized_vol_20d")
    if rv is None or not math.isfinite(rv):
        return False, "no realized vol for the distance"
    sd = feature["close"] * rv / math.sqrt(252.0)
    near = [
        c
        for c in ("fib_382", "fib_618")
        if fib.get(c) is not None and abs(feature["close"] - fib[c]) <= cfg.confluence_sd * sd
    ]
    if not near:
        return False, "not within 0.3 sd of Fib 38.2/61.8"
    if gamma is None:
        return False, f"near {near[0]} but no gamma data"
    walls = [w for w in (gamma.get("wall_1"), gamma.get("wall_2")) if w is not None and w <= feature["close"]]
    if walls:
        return True, f"near {near[0]}, supportive wall {walls[0]:g}"
    return False, f"near {near[0]}, no wall below"


def _positioning(feature: dict[str, Any] | None, cfg: ChecklistConfig) -> tuple[bool, str]:
    pct = (feature or {}).get("cftc_net_spec_pctile_3y")
    if pct is None:
        return False, "no COT percentile"
    return (pct < cfg.cot_crowded_pctile), f"specs at the {pct:.0f}th percentile"


def _vol_sanity(feature: dict[str, Any] | None, widths: list[float], cfg: ChecklistConfig) -> tuple[bool, str]:
    vix = (feature or {}).get("fred_vix")
    if vix is None:
        return False, "no VIX"
    if vix >= cfg.vix_stress:
        return False, f"VIX {vix:.1f} >= {cfg.vix_stress:g}"
    if len(widths) < 21:
        return False, "too few forecasts to judge band widening"
    past, today = np.array(widths[:-1][-cfg.width_window :]), widths[-1]
    limit = past.mean() + cfg.width_sd * past.std(ddof=1)
    return (today <= limit), f"VIX {vix:.1f}, band width {'ok' if today <= limit else 'widening > 2 sd'}"


def _rationale(lines: dict[str, Any] | None) -> str | None:
    if lines is None:
        return None
    top = sorted(GROUP_NAMES, key=lambda g: -abs(lines[f"shap_{g}"]))[:2]
    return "; ".join(f"{GROUP_NAMES[g]} contributed {lines[f'shap_{g}'] * 1e4:+.0f} bps to P50" for g in top)


def _next_fib_below(close: float, fib: dict[str, Any] | None) -> float | None:
    if fib is None:
        return None
    below = [
        fib[c]
        for c in ("fib_236", "fib_382", "fib_500", "fib_618", "fib_786")
        if fib.get(c) is not None and fib[c] < close
    ]
    return max(below) if below else None


def evaluate_checklist(
    *,
    symbol: str,
    date: dt.date,
    horizons: tuple[str, ...],
    metrics: list[dict[str, Any]],
    regime: dict[str, Any] | None,
    budget_inputs: TouchInputs | None,
    cap: float | None,
    feature: dict[str, Any] | None,
    fib: dict[str, Any] | None,
    gamma: dict[str, Any] | None,
    widths: list[float],
    lines: dict[str, Any] | None,
    cfg: ChecklistConfig = ChecklistConfig(),
) -> dict[str, Any]:
    """One ``signals.entry_checklist`` row (plus ``notes``) from the date's stored inputs."""
    health = _model_health(metrics, horizons, cfg)
    regime_ok = _regime(regime, cfg)
    budget_label, p_budget, budget_note = _budget(budget_inputs, cap, cfg)
    confluence = _confluence(feature, fib, gamma, cfg)
    positioning = _positioning(feature, cfg)
    vol = _vol_sanity(feature, widths, cfg)
    passed = [health[0], regime_ok[0], budget_label in ("aggressive", "partial"), confluence[0], positioning[0], vol[0]]
    n = int(sum(passed))
    verdict, tranche = ("EXECUTE", 100.0) if n == 6 else ("PARTIAL", 50.0) if n >= 4 else ("WAIT", 0.0)
    notes = [health[1], regime_ok[1], budget_note, confluence[1], positioning[1], vol[1]]
    return {
        "date": date,
        "symbol": symbol,
        "check_model_health": health[0],
        "check_regime_valid": regime_ok[0],
        "check_budget_risk": budget_label,
        "check_confluence": confluence[0],
        "check_positioning": positioning[0],
        "check_vol_sanity": vol[0],
        "tranche_pct": tranche,
        "rationale": _rationale(lines),
        "verdict": verdict,
        "checks_passed": n,
        "budget_cap": cap,
        "p_budget_breach": p_budget,
        "budget_horizon": cfg.budget_horizon,
        "regime_confidence": (regime or {}).get("confidence"),
        "calc_version": CALC_VERSION,
        "check_notes": " | ".join(f"{c}: {t}" for c, t in zip(CHECKS, notes, strict=True)),
        "ladder_level": _next_fib_below(feature["close"], fib) if verdict == "PARTIAL" and feature else None,
    }
