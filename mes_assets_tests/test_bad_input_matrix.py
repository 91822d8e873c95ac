"""The bad-input matrix: the real sample as the base, one defect introduced per case, and
each case ends in a clear error or an explicit status — never a silently repaired or invented
value. Cases that need a whole asset run (holidays as `no_session`, partial writes) are also
covered in the asset tests; this file lists every case in one place (README: "Bad-input matrix").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mes_assets.gamma.forward import parity_forward
from mes_assets.instruments import MES, ZL
from mes_assets.levels.fibonacci import segment_bounds
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources import ReplayFred, ReplayMarketData
from mes_assets.sources.errors import DataQualityError, MissingCredentialsError
from mes_assets.sources.schemas import validate_bars

D = dt.date


@pytest.fixture(scope="module")
def zl_bars(data_root: Path) -> pl.DataFrame:
    return ReplayMarketData(data_root).daily_bars("ZL", D(2024, 1, 2), D(2024, 3, 29))


def _fred_root(tmp_path: Path, data_root: Path, edit) -> Path:
    """A data root whose VIXCLS file is the real (plain FRED) one with one defect introduced by ``edit``."""
    root = tmp_path / "data"
    root.mkdir(parents=True, exist_ok=True)
    (root / "fred").mkdir(parents=True, exist_ok=True)
    lines = (data_root / "fred" / "VIXCLS.csv").read_text().splitlines()
    (root / "fred" / "VIXCLS.csv").write_text("\n".join(edit(lines)) + "\n")
    return root


# ------------------------------------------------------------------------------ bars
def test_01_gap_in_bars_restarts_the_zigzag_segment(zl_bars):
    sessions = exchange_sessions(ZL, D(2024, 1, 2), D(2024, 3, 29))["date"].to_list()
    dates = [d for d in zl_bars["date"].to_list() if d != D(2024, 2, 14)]  # one session missing
    segments = segment_bounds(dates, sessions)
    assert len(segments) == 2 and dates[segments[1][0]] == D(2024, 2, 15)


def test_02_duplicate_bars_are_refused(zl_bars):
    doubled = pl.concat([zl_bars.head(10), zl_bars.slice(9, 1), zl_bars.slice(10)])
    with pytest.raises(DataQualityError, match="duplicate"):
        validate_bars(doubled, time_col="date")


def test_03_out_of_order_bars_are_refused(zl_bars):
    swapped = pl.concat([zl_bars.head(5), zl_bars.slice(6, 1), zl_bars.slice(5, 1), zl_bars.slice(7)])
    with pytest.raises(DataQualityError, match="increasing"):
        validate_bars(swapped, time_col="date")


def test_04_bars_outside_any_session_are_returned_not_assigned(data_root):
    from mes_assets.market.bars import assign_minute_bars_to_sessions

    sessions = exchange_sessions(MES, D(2023, 3, 13), D(2023, 3, 13))
    raw = ReplayMarketData(data_root).minute_bars("MES", sessions["session_open"][0], sessions["session_close"][0])
    only_next_day = exchange_sessions(MES, D(2023, 3, 14), D(2023, 3, 14))  # the bars' session is absent
    tagged, outside = assign_minute_bars_to_sessions(raw, only_next_day)
    assert tagged.is_empty() and outside.height == raw.height


def test_05_dst_change_moves_the_rth_open_in_utc():
    sessions = exchange_sessions(MES, D(2023, 3, 10), D(2023, 3, 13)).filter(pl.col("rth_open").is_not_null())
    opens = dict(zip(sessions["date"], sessions["rth_open"].dt.hour(), strict=True))
    assert opens[D(2023, 3, 10)] == 14 and opens[D(2023, 3, 13)] == 13  # 09:30 EST vs EDT


def test_06_exchange_holiday_has_no_session():
    days = exchange_sessions(ZL, D(2024, 11, 26), D(2024, 11, 29))["date"].to_list()
    assert D(2024, 11, 28) not in days  # Thanksgiving: an explicit no_session, never a made-up bar


def test_07_early_close_is_flagged_with_its_real_close():
    row = exchange_sessions(MES, D(2023, 11, 24), D(2023, 11, 24)).row(0, named=True)
    assert row["is_early_close"] and row["rth_close"].hour == 18  # 13:00 ET


# ------------------------------------------------------------------------------ FRED / COT
def test_08_fred_dot_and_blank_values_are_null_not_zero(tmp_path, data_root):
    def edit(lines):
        header, rows = lines[0], lines[1:]
        date_a, date_b = rows[100].split(",")[0], rows[101].split(",")[0]
        rows[100], rows[101] = f"{date_a},.", f"{date_b},"
        return [header, *rows]

    root = _fred_root(tmp_path, data_root, edit)
    series = ReplayFred(root).series("VIXCLS", D(1990, 1, 1), D(2030, 1, 1))
    real = ReplayFred(_fred_root(tmp_path / "unchanged", data_root, lambda lines: lines)).series(
        "VIXCLS", D(1990, 1, 1), D(2030, 1, 1)
    )
    assert series["value"].null_count() == real["value"].null_count() + 2
    assert (series["value"].drop_nulls() != 0).all()


def test_09_fred_series_that_stops_goes_null_after_the_stale_limit(data_root, zl_bars):
    from mes_assets.features.daily import FRED_STALE_DAYS, build_features
    from mes_assets.sources.schemas import COT

    vix = ReplayFred(data_root).series("VIXCLS", D(2023, 1, 1), D(2024, 1, 31))  # stops 2024-01-31
    sessions = exchange_sessions(ZL, D(2024, 1, 2), D(2024, 3, 29))
    asof = sessions.select("date", pl.col("session_close").alias("bar_close_utc"))
    rows = build_features("ZL", zl_bars, vix, pl.DataFrame(schema=COT), asof_times=asof, calc_version="t", zigzag_k=3.0)
    late = rows.filter(pl.col("date") > D(2024, 1, 31) + dt.timedelta(days=FRED_STALE_DAYS + 2))
    assert late.height > 20 and late["fred_vix"].null_count() == late.height


def test_10_cot_week_missing_leaves_the_weekly_change_null(data_root):
    from mes_assets.features.daily import cot_report_features
    from mes_assets.sources import ReplayCot

    cot = ReplayCot(data_root).reports(MES.cot_market_code, D(2020, 1, 1), D(2025, 12, 31))
    assert cot.height > 10
    missing = cot.filter(pl.col("report_date") != cot["report_date"][5])
    features = cot_report_features(missing)
    after_gap = features.filter(pl.col("report_date") == cot["report_date"][6])
    assert after_gap["cftc_net_spec_chg_1w"][0] is None  # two weeks apart: not a weekly change


# ------------------------------------------------------------------------------ options
def test_11_zero_open_interest_and_12_expired_series_are_dropped_and_counted(data_root):
    from mes_assets.sources.options.replay import ReplayOptions

    got = ReplayOptions(data_root, forward=parity_forward).oi_raw("MES", D(2015, 12, 22), rate=0.005)
    assert got.frame.height > 0 and (got.frame["oi"] > 0).all() and (got.frame["expiry"] > D(2015, 12, 22)).all()
    assert {"zero_oi", "blank_oi", "expired"} <= set(got.dropped)
    assert got.dropped["zero_oi"] + got.dropped["blank_oi"] > 0  # the real file has them


def test_13_settlement_below_intrinsic_gives_no_iv_and_a_status():
    from mes_assets.kernels.black76 import IV_BELOW_INTRINSIC, implied_vol

    iv, status = implied_vol(
        np.array([1.0]), np.array([110.0]), np.array([100.0]), np.array([0.25]), np.array([0.0]), np.array([True])
    )  # intrinsic 10, premium 1
    assert np.isnan(iv[0]) and status[0] == IV_BELOW_INTRINSIC


# ------------------------------------------------------------------------------ numerics
def test_14_nan_and_inf_prices_are_refused(zl_bars):
    from mes_assets.kernels.montecarlo import tap_probabilities

    bad = zl_bars.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(float("inf")).otherwise(pl.col("close")).alias("close")
    )
    with pytest.raises(DataQualityError):
        validate_bars(bad, time_col="date")
    with pytest.raises(ValueError):
        tap_probabilities(
            spot=float("nan"),
            levels=np.array([1.0]),
            terminal_quantiles=np.array([1, 2, 3, 4, 5.0]),
            sigma=1.0,
            horizon=1.0,
            n_steps=1,
        )


def test_15_crossing_quantiles_are_sorted_and_flagged():
    from mes_assets.kernels.quantile_metrics import repair_crossing

    q, crossed = repair_crossing(
        np.array([[0.3, 0.1, 0.2, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]]), [0.1, 0.25, 0.5, 0.75, 0.9]
    )
    assert crossed.tolist() == [True, False] and np.all(np.diff(q, axis=1) >= 0)


def test_16_too_little_history_gives_no_atr_and_no_regime(zl_bars):
    from mes_assets.forecast.regime import regime_states
    from mes_assets.kernels.atr import wilder_atr

    short = zl_bars.head(10)
    atr = wilder_atr(short["high"].to_numpy(), short["low"].to_numpy(), short["close"].to_numpy(), 14)
    assert np.isnan(atr).all()
    rows = regime_states(
        "ZL",
        short.select("date", pl.col("close").log().diff().alias("ret_1d"), pl.lit(15.0).alias("fred_vix")),
        dt.datetime.now(dt.UTC),
    )
    assert set(rows["status"]) == {"insufficient_history"} and rows["p_stress"].is_null().all()


def test_17_symbol_not_configured_is_refused(data_root):
    with pytest.raises(ValueError, match="unsupported"):
        ReplayMarketData(data_root).daily_bars("XYZ", D(2024, 1, 2), D(2024, 1, 5))


def test_18_missing_credentials_name_the_variable():
    from mes_assets.sources.live import DatabentoMarketData

    with pytest.raises(MissingCredentialsError, match="DATABENTO_API_KEY"):
        DatabentoMarketData(None)


# ------------------------------------------------------------------------------ vendor files
def test_19_truncated_row_in_a_vendor_file_is_refused(tmp_path, data_root):
    root = _fred_root(tmp_path, data_root, lambda lines: [*lines[:50], lines[50][:7], *lines[51:]])
    with pytest.raises(DataQualityError):
        ReplayFred(root).series("VIXCLS", D(1990, 1, 1), D(2030, 1, 1))


def test_20_footer_line_in_a_vendor_file_is_refused(tmp_path, data_root):
    root = _fred_root(tmp_path, data_root, lambda lines: [*lines, "Source: Federal Reserve Bank of St. Louis"])
    with pytest.raises(DataQualityError):
        ReplayFred(root).series("VIXCLS", D(1990, 1, 1), D(2030, 1, 1))


def test_21_non_increasing_terminal_quantiles_are_refused():
    from mes_assets.kernels.montecarlo import tap_probabilities

    with pytest.raises(ValueError):
        tap_probabilities(
            spot=100.0,
            levels=np.array([101.0]),
            terminal_quantiles=np.array([99, 100, 100, 101, 102.0]),
            sigma=1.0,
            horizon=1.0,
            n_steps=5,
        )


def test_22_too_little_history_for_the_quantile_model_gives_no_forecast(data_root, zl_bars):
    from mes_assets.features.daily import build_features
    from mes_assets.forecast.quantile_model import walk_forward
    from mes_assets.sources.schemas import COT

    sessions = exchange_sessions(ZL, D(2024, 1, 2), D(2024, 3, 29))
    asof = sessions.select("date", pl.col("session_close").alias("bar_close_utc"))
    fred = pl.DataFrame(schema={"date": pl.Date, "series_id": pl.Utf8, "value": pl.Float64})
    rows = build_features(
        "ZL", zl_bars, fred, pl.DataFrame(schema=COT), asof_times=asof, calc_version="t", zigzag_k=3.0
    )
    result = walk_forward(rows, 5)  # 60 sessions < 252 + 5
    assert result.predictions.is_empty() and not result.refits
