"""Hit-rate arithmetic on a hand-checkable analytic price path (named as such, not market data)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from mes_assets.checklist.hit_rate import hit_rate

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_costs_against_the_equal_time_buyer():
    days = [dt.date(2024, 1, 1) + dt.timedelta(d) for d in range(6)]
    closes = pl.DataFrame({"date": days, "close": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]})  # analytic
    decisions = pl.DataFrame({"date": [days[0], days[1], days[4]], "verdict": ["EXECUTE", "WAIT", "EXECUTE"]})
    out = {r["verdict"]: r for r in hit_rate("ZL", decisions, closes, NOW, horizon=2).iter_rows(named=True)}
    # EXECUTE on day 0: 10 vs mean(11, 12) = 11.5; day 4 lacks two later sessions: unscored
    assert out["EXECUTE"]["n_decisions"] == 1 and out["EXECUTE"]["n_unscored"] == 1
    assert out["EXECUTE"]["mean_diff_bps"] == pytest.approx((10 / 11.5 - 1) * 1e4)
    assert out["WAIT"]["mean_diff_bps"] == pytest.approx((11 / 12.5 - 1) * 1e4)
    assert out["PARTIAL"]["n_decisions"] == 0 and out["PARTIAL"]["mean_diff_bps"] is None


def test_unknown_verdict_is_refused():
    closes = pl.DataFrame({"date": [dt.date(2024, 1, 1)], "close": [1.0]})
    with pytest.raises(ValueError, match="unknown verdict"):
        hit_rate("ZL", pl.DataFrame({"date": [dt.date(2024, 1, 1)], "verdict": ["BUY"]}), closes, NOW)
