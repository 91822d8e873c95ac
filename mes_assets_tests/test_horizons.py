"""One Horizon type: "1m" is a month (21 sessions), minute horizons are 5m/15m/60m, never confused."""

from __future__ import annotations

import pytest

from mes_assets.forecast.quantile_model import ALPHAS, QUANTILE_COLUMNS
from mes_assets.horizons import HORIZONS, QUANTILE_LEVELS, QUANTILES, horizon
from mes_assets.instruments import MES, ZL
from mes_assets.kernels.montecarlo import DEFAULT_QUANTILE_PROBS


def test_month_and_minutes_are_distinct_names_with_their_own_units():
    month = horizon("1m")
    assert (month.unit, month.length, month.sessions, month.is_intraday) == ("sessions", 21, 21, False)
    assert month.years == 21 / 252  # a trading month of a 252-session year
    with pytest.raises(ValueError, match="not minute bars"):
        month.bars(1)
    hour = horizon("60m")
    assert (hour.unit, hour.length, hour.is_intraday) == ("minutes", 60, True)
    assert hour.years == 60 / (390 * 252)  # RTH minutes of a trading year
    assert {h: horizon(h).bars(5) for h in ("5m", "15m", "60m")} == {"5m": 1, "15m": 3, "60m": 12}
    assert horizon("15m").bars(1) == 15
    with pytest.raises(ValueError, match="not a whole number"):
        horizon("5m").bars(3)
    with pytest.raises(ValueError, match="not a number of sessions"):
        _ = hour.sessions
    with pytest.raises(ValueError, match="unknown horizon '1d'"):
        horizon("1d")


def test_every_instrument_horizon_is_a_known_horizon_of_the_right_kind():
    assert all(not horizon(h).is_intraday for h in ZL.mc_horizons)  # ZL: daily bars
    assert all(horizon(h).is_intraday for h in MES.mc_horizons)  # MES: minute bars
    assert ZL.wall_reject_horizon in ZL.mc_horizons and MES.wall_reject_horizon in MES.mc_horizons
    assert set(HORIZONS) == {*ZL.mc_horizons, *MES.mc_horizons}


def test_one_quantile_set_everywhere():
    assert QUANTILES == ("p10", "p25", "p50", "p75", "p90")
    assert QUANTILE_LEVELS == (0.1, 0.25, 0.5, 0.75, 0.9)
    assert DEFAULT_QUANTILE_PROBS is QUANTILE_LEVELS and ALPHAS is QUANTILE_LEVELS
    assert tuple(QUANTILE_COLUMNS) == QUANTILES
