"""SHAP stability monitor on analytic force-line sequences (named as such) and its point-in-time rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from mes_assets.forecast.shap_stability import DOMINANCE_DAYS, MIN_OBS, WINDOW, shap_stability

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _analytic_lines(values: np.ndarray, horizon: str = "1w") -> pl.DataFrame:
    """Analytic input: force lines (vix, yield, trump, cot) per consecutive day from 2024-01-01."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(d) for d in range(values.shape[0])]
    return pl.DataFrame(
        {
            "date": days,
            "horizon": [horizon] * len(days),
            **{f"shap_{g}": values[:, i] for i, g in enumerate(("vix", "yield", "trump", "cot"))},
        }
    )


def test_persistent_dominance_raises_the_flag_after_the_run_length():
    rng = np.random.default_rng(0)
    balanced = rng.normal(0, 1e-3, (40, 4))
    vix_heavy = np.column_stack([np.full(30, 5e-3), rng.normal(0, 1e-4, (30, 3))])
    out = shap_stability("ZL", _analytic_lines(np.vstack([balanced, vix_heavy])), NOW)
    runs = out["dominance_run_days"].to_list()
    flags = out["dominance_flag"].to_list()
    assert runs[40:] == list(range(1, 31))  # every vix-heavy day continues the run
    assert flags[40 + DOMINANCE_DAYS - 2] is False and flags[40 + DOMINANCE_DAYS - 1] is True
    last = out.row(-1, named=True)
    assert last["dominant_group"] == "vix" and last["dominant_share"] > 0.5
    shares = [last[f"share_{g}"] for g in ("vix", "yield", "trump", "cot")]
    assert sum(shares) == pytest.approx(1.0)


def test_window_statistics_match_a_direct_computation():
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1e-3, (90, 4))
    out = shap_stability("ZL", _analytic_lines(values), NOW)
    row = out.row(89, named=True)
    window = values[90 - WINDOW :]
    assert row["n_obs"] == WINDOW
    assert row["var_yield"] == pytest.approx(np.var(window[:, 1], ddof=1), rel=1e-12)
    mean_abs = np.abs(window).mean(axis=0)
    assert row["share_cot"] == pytest.approx(mean_abs[3] / mean_abs.sum(), rel=1e-12)


def test_insufficient_history_and_no_signal_are_explicit_statuses():
    zeros = _analytic_lines(np.zeros((MIN_OBS + 2, 4)))
    out = shap_stability("ZL", zeros, NOW)
    assert out["status"].head(MIN_OBS - 1).to_list() == ["insufficient_history"] * (MIN_OBS - 1)
    assert out["status"].tail(3).to_list() == ["no_group_signal"] * 3
    assert out["dominance_flag"].tail(3).to_list() == [False] * 3


def test_rows_never_depend_on_later_forecasts():
    rng = np.random.default_rng(2)
    values = rng.normal(0, 1e-3, (80, 4))
    full = shap_stability("ZL", _analytic_lines(values), NOW)
    prefix = shap_stability("ZL", _analytic_lines(values[:55]), NOW)
    assert prefix.equals(full.head(55))


def test_horizons_are_monitored_separately_and_bad_input_is_refused():
    a, b = _analytic_lines(np.ones((25, 4)), "1w"), _analytic_lines(np.ones((25, 4)), "1m")
    out = shap_stability("ZL", pl.concat([a, b]), NOW)
    assert out.group_by("horizon").len().sort("horizon")["len"].to_list() == [25, 25]
    with pytest.raises(ValueError, match="one row per date"):
        shap_stability("ZL", pl.concat([a, a]), NOW)
    with pytest.raises(ValueError, match="non-finite"):
        shap_stability("ZL", _analytic_lines(np.full((3, 4), np.nan)), NOW)


def test_intraday_force_lines_give_one_row_per_date_as_of_its_last_origin():
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1e-3, (3 * 30, 4))  # analytic: three sessions of 30 origins
    days = [dt.date(2024, 1, 2 + d // 30) for d in range(90)]
    origins = [
        dt.datetime(2024, 1, 2 + d // 30, 14, 30, tzinfo=dt.UTC) + dt.timedelta(minutes=5 * (d % 30)) for d in range(90)
    ]
    lines = pl.DataFrame(
        {
            "date": days,
            "horizon": ["5m"] * 90,
            "origin_ts": origins,
            **{f"shap_{g}": values[:, i] for i, g in enumerate(("vix", "yield", "trump", "cot"))},
        }
    )
    out = shap_stability("MES", lines, NOW)
    assert out["date"].to_list() == [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    assert out["n_obs"].to_list() == [30, WINDOW, WINDOW]  # windows count origins
    last = out.row(-1, named=True)
    window = values[90 - WINDOW :]
    assert last["var_vix"] == pytest.approx(np.var(window[:, 0], ddof=1), rel=1e-12)
    with pytest.raises(ValueError, match="one row per origin_ts"):
        shap_stability("MES", pl.concat([lines, lines]), NOW)
