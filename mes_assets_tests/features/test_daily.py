"""Point-in-time feature builder on the REAL recorded data (file lines cited are 1-based).

Inputs: Barchart ZLZ25 daily bars (futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv),
FRED VIXCLS/DGS2/DGS10 (fred/extended_fredapi/*.csv), CFTC COT for soybean oil 007601 (legacy 2025,
disaggregated 2021-Q1, Sergej-derived legacy to 2019) and the exchange calendar's session close.
No market data is made up here: where a test needs a different input it truncates real inputs
(as if the feed had stopped) or reorders real rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from scipy.stats import percentileofscore
from sqlglot import exp

from mes_assets.features.daily import (
    COT_PCTILE_MIN_REPORTS,
    FEATURE_SCHEMA,
    build_features,
    cot_report_features,
)
from mes_assets.features.policy_regimes import POLICY_REGIMES, regime_flags
from mes_assets.instruments import MES, ZL
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import last_confirmed_leg, zigzag
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources import ReplayCot, ReplayFred, ReplayMarketData
from mes_assets.sources.errors import SourceUnavailableError
from mes_assets.sources.schemas import one_report_per_week

D = dt.date
UTC = dt.UTC
REPO_ROOT = Path(__file__).resolve().parents[2]
DDL = REPO_ROOT / "mes_assets" / "sql" / "ddl" / "features" / "master_features.sql"
K = ZL.zigzag_k
VERSION = "test"


@dataclasses.dataclass(frozen=True)
class Inputs:
    symbol: str
    bars: pl.DataFrame
    fred: pl.DataFrame
    cot: pl.DataFrame
    asof: pl.DataFrame

    def build(self, **overrides: object) -> pl.DataFrame:
        args = {"bars": self.bars, "fred": self.fred, "cot": self.cot, "asof_times": self.asof}
        args.update(overrides)
        return build_features(self.symbol, calc_version=VERSION, zigzag_k=K, **args)  # type: ignore[arg-type]

    def public_by(self, cut: dt.date) -> Inputs:
        """Only what was public by the close of session ``cut`` (COT by RELEASE date)."""
        return Inputs(
            self.symbol,
            self.bars.filter(pl.col("date") <= cut),
            self.fred.filter(pl.col("date") <= cut),
            self.cot.filter(pl.col("release_date") <= cut),
            self.asof.filter(pl.col("date") <= cut),
        )


def _fred(root: Path, start: dt.date, end: dt.date) -> pl.DataFrame:
    rf = ReplayFred(root)
    return pl.concat([rf.series(s, start, end) for s in ("VIXCLS", "DGS2", "DGS10")])


@pytest.fixture(scope="module")
def zl(data_root: Path) -> Inputs:
    bars = ReplayMarketData(data_root).daily_bars("ZL", D(2021, 12, 15), D(2025, 10, 14))
    sessions = exchange_sessions(ZL, D(2021, 12, 15), D(2025, 10, 14))
    asof = sessions.select("date", pl.col("session_close").alias("bar_close_utc"))
    return Inputs(
        "ZL",
        bars,
        _fred(data_root, D(2021, 1, 1), D(2025, 12, 31)),
        # the official files only: the hand-checked cases below were read off them (the complete
        # public-reporting export, cot/socrata/, has every week and is tested on its own)
        one_report_per_week(
            ReplayCot(data_root)
            .reports(ZL.cot_market_code, D(1987, 1, 1), D(2025, 12, 31))
            .filter(~pl.col("source").str.contains("cot/socrata/"))
        ),
        asof,
    )


@pytest.fixture(scope="module")
def zl_full(zl: Inputs) -> pl.DataFrame:
    return zl.build()


def _row(frame: pl.DataFrame, day: dt.date) -> dict:
    rows = frame.filter(pl.col("date") == day).to_dicts()
    assert len(rows) == 1, (day, rows)
    return rows[0]


# ------------------------------------------------------------------------------------ schema


def test_output_columns_are_the_ddl_columns_in_order(zl_full: pl.DataFrame) -> None:
    ddl = sqlglot.parse_one(DDL.read_text(), read="bigquery")
    cols = [(c.name, c.args["kind"].sql(dialect="bigquery")) for c in ddl.find_all(exp.ColumnDef)]
    to_polars = {
        "DATE": pl.Date,
        "STRING": pl.Utf8,
        "FLOAT64": pl.Float64,
        "INT64": pl.Int64,
        "TIMESTAMP": pl.Datetime("us", "UTC"),
    }
    want = [(name, to_polars[t]) for name, t in cols]
    # appended after the first version, in this order
    assert want[-3:] == [
        ("dist_to_last_pivot_atr", pl.Float64),
        ("feed_rfs_rin", pl.Float64),
        ("feed_policy_sentiment", pl.Float64),
    ]
    assert list(FEATURE_SCHEMA.items()) == want
    assert zl_full.schema == FEATURE_SCHEMA
    assert zl_full.height == 962  # one row per recorded ZLZ25 session 2021-12-15..2025-10-14
    assert zl_full["feature_asof"].null_count() == 0
    assert set(zl_full["symbol"]) == {"ZL"} and set(zl_full["calc_version"]) == {VERSION}


# -------------------------------------------------------------------------------- no lookahead

CUTS = [
    D(2022, 6, 15),  # early history, all rolling windows warm
    D(2023, 6, 21),  # first day of policy_regime_2023_25
    D(2024, 10, 14),  # Columbus Day: ZL traded, FRED DGS2/DGS10 blank (bond market closed)
    D(2025, 1, 10),  # Friday release of the first legacy ZL report in the window (2025-01-07)
    D(2025, 1, 21),  # first session after the Friday 2025-01-17 release (MLK Monday closed)
    D(2025, 3, 14),  # Friday release of the last recorded legacy report (2025-03-11)
    D(2025, 10, 14),  # last session
]


@pytest.mark.parametrize("cut", CUTS, ids=str)
def test_no_lookahead_at_cut_dates(zl: Inputs, zl_full: pl.DataFrame, cut: dt.date) -> None:
    """Rows up to D from inputs public by D equal the same rows from the full inputs."""
    truncated = zl.public_by(cut).build()
    assert truncated["date"][-1] == cut
    assert_frame_equal(truncated, zl_full.filter(pl.col("date") <= cut), check_exact=True)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_lookahead_random_cuts(zl: Inputs, zl_full: pl.DataFrame, data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=zl.bars.height - 1), label="cut index")
    cut = zl.bars["date"][i]
    truncated = zl.public_by(cut).build()
    assert_frame_equal(truncated, zl_full.head(i + 1), check_exact=True)


def test_future_inputs_do_not_change_past_rows(zl: Inputs, zl_full: pl.DataFrame) -> None:
    """Dropping every FRED/COT input after D (bars kept) changes no row <= D."""
    cut = D(2025, 2, 19)
    partial = zl.build(fred=zl.fred.filter(pl.col("date") <= cut), cot=zl.cot.filter(pl.col("release_date") <= cut))
    assert_frame_equal(partial.filter(pl.col("date") <= cut), zl_full.filter(pl.col("date") <= cut), check_exact=True)


# ---------------------------------------------------------------------------- hand-checked values


def test_hand_checked_2025_01_17(zl_full: pl.DataFrame) -> None:
    r = _row(zl_full, D(2025, 1, 17))
    # futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv (Time,Open,High,Low,Last,...)
    #   line 188: 2025-01-17,44.82,45.38,44.72,45.16,0.39,+0.87%,134936,562415
    #   line 189: 2025-01-16,45.7,45.73,44.55,44.77,-1.,-2.18%,183751,562520
    assert r["close"] == 45.16
    assert r["ret_1d"] == pytest.approx(math.log(45.16 / 44.77), rel=1e-12)  # 0.0086734...
    # fred/extended_fredapi/DGS10.csv line 11755: 2025-01-17,4.61
    # fred/extended_fredapi/DGS2.csv  line 11755: 2025-01-17,4.27
    assert (r["fred_dgs10"], r["fred_dgs2"]) == (4.61, 4.27)
    assert r["yield_spread_10y2y_bps"] == pytest.approx(34.0, abs=1e-9)  # (4.61 - 4.27) * 100
    # cot/legacy_2025_es_mes_zl.csv, SOYBEAN OIL - CHICAGO BOARD OF TRADE (007601), columns
    # 3 as-of date, 8 OI (All), 9/10 noncommercial long/short, 12/13 commercial long/short:
    #   line 10: 2025-01-14, OI 563997, noncomm 132019 / 97616, comm 310204 / 344175
    #   line 11: 2025-01-07, OI 557470, noncomm 141860 / 136060, comm 290822 / 296824
    # 2025-01-14 is released Friday 2025-01-17, so this session already sees it.
    assert r["cftc_report_date"] == D(2025, 1, 14)
    assert r["cftc_net_spec"] == 132019 - 97616 == 34403
    assert r["cftc_net_comm"] == 310204 - 344175 == -33971
    assert r["cftc_net_spec_chg_1w"] == 34403 - (141860 - 136060) == 28603
    assert r["cftc_net_comm_chg_1w"] == -33971 - (290822 - 296824) == -27969
    assert r["cftc_net_spec_pct_oi"] == pytest.approx(34403 / 563997 * 100, rel=1e-12)
    assert r["cftc_net_spec_pctile_3y"] is None  # only 1 prior legacy report (< 52)
    assert (r["policy_trade_war_2017_19"], r["policy_regime_2023_25"]) == (0, 1)


def test_bar_features_against_independent_computation(zl: Inputs, zl_full: pl.DataFrame) -> None:
    close = zl.bars["close"].to_numpy()
    high, low = zl.bars["high"].to_numpy(), zl.bars["low"].to_numpy()
    i = 500
    lr = np.diff(np.log(close[i - 20 : i + 1]))  # the 20 log returns ending at row i
    row = zl_full.row(i, named=True)
    assert row["realized_vol_20d"] == pytest.approx(np.std(lr, ddof=1) * math.sqrt(252), rel=1e-12)
    assert row["ret_5d"] == pytest.approx(math.log(close[i] / close[i - 5]), rel=1e-12)
    atr = wilder_atr(high, low, close, 14)
    assert row["atr_14"] == atr[i]
    pivots, _ = zigzag(close, atr, K)
    leg = last_confirmed_leg(pivots, i)
    assert leg is not None
    assert row["dist_to_last_pivot_atr"] == pytest.approx((close[i] - leg.end_price) / atr[i], rel=1e-12)
    # warm-up: no returns on the first row, realized vol needs 20 returns, ATR 14 bars
    assert zl_full["ret_1d"][0] is None and zl_full["ret_5d"][4] is None and zl_full["ret_5d"][5] is not None
    assert zl_full["realized_vol_20d"][19] is None and zl_full["realized_vol_20d"][20] is not None
    assert zl_full["atr_14"][12] is None and zl_full["atr_14"][13] is not None
    first_pivot_confirm = int(pivots.confirm_index[0])
    assert zl_full["dist_to_last_pivot_atr"][:first_pivot_confirm].null_count() == first_pivot_confirm
    assert zl_full["dist_to_last_pivot_atr"][first_pivot_confirm] is not None


# ---------------------------------------------------------------------------------------- FRED


def test_fred_holiday_is_skipped_never_zero(zl: Inputs, zl_full: pl.DataFrame) -> None:
    # Columbus Day 2024-10-14: ZL traded, Treasury market closed. fred/extended_fredapi/DGS2.csv
    # lines 11685-11687: 2024-10-11,3.95 / 2024-10-14, (blank) / 2024-10-15,3.95; DGS10 lines
    # 11685-11686: 2024-10-11,4.08 / 2024-10-14, ; VIXCLS line 9076: 2024-10-14,19.7
    raw = zl.fred.filter(pl.col("date") == D(2024, 10, 14))
    assert raw.filter(pl.col("series_id") == "DGS2")["value"].to_list() == [None]
    r = _row(zl_full, D(2024, 10, 14))
    assert r["fred_dgs2"] == 3.95 and r["fred_dgs10"] == 4.08  # last non-null (3 days old), not 0
    assert r["yield_spread_10y2y_bps"] == pytest.approx(13.0, abs=1e-9)
    assert r["fred_vix"] == 19.7
    # changes count non-null observations: DGS10 2024-10-04 is the 5th observation before 10-11
    dgs10 = zl.fred.filter((pl.col("series_id") == "DGS10") & pl.col("value").is_not_null())
    obs = dgs10.filter(pl.col("date") <= D(2024, 10, 11))["value"].to_list()
    assert r["dgs10_chg_5d_bps"] == pytest.approx((obs[-1] - obs[-6]) * 100, rel=1e-12)
    # Christmas 2024-12-25 (FRED blank) is no ZL session at all; 12-26 uses its own observation
    assert zl_full.filter(pl.col("date") == D(2024, 12, 25)).height == 0
    assert _row(zl_full, D(2024, 12, 26))["fred_vix"] == 14.73  # VIXCLS line 9129: 2024-12-26,14.73
    for col in ("fred_vix", "fred_dgs2", "fred_dgs10"):
        assert (zl_full[col] == 0).sum() == 0


def test_fred_stale_after_five_days(zl: Inputs) -> None:
    # Real FRED cut after 2025-06-30, as if the feed had stopped: the last observation is valid
    # for 5 calendar days (2025-07-01/02/03 sessions), then NULL (2025-07-07 is 7 days later).
    out = zl.build(fred=zl.fred.filter(pl.col("date") <= D(2025, 6, 30)))
    last = {
        s: zl.fred.filter((pl.col("series_id") == s) & (pl.col("date") == D(2025, 6, 30)))["value"][0]
        for s in ("VIXCLS", "DGS2", "DGS10")
    }
    for day in (D(2025, 7, 1), D(2025, 7, 3)):
        r = _row(out, day)
        assert (r["fred_vix"], r["fred_dgs2"], r["fred_dgs10"]) == (last["VIXCLS"], last["DGS2"], last["DGS10"])
    for day in (D(2025, 7, 7), D(2025, 10, 14)):
        r = _row(out, day)
        for col in (
            "fred_vix",
            "vix_chg_1d",
            "vix_chg_5d",
            "fred_dgs2",
            "fred_dgs10",
            "yield_spread_10y2y_bps",
            "dgs10_chg_5d_bps",
        ):
            assert r[col] is None, (day, col)
        # feature_asof no longer includes FRED: it is the session close (13:20 CT = 18:20 UTC)
        assert r["feature_asof"].time() == dt.time(18, 20)
    # without any FRED input every FRED column is NULL, never 0
    none = zl.build(fred=zl.fred.clear())
    assert none.select("fred_vix", "fred_dgs2", "yield_spread_10y2y_bps").null_count().row(0) == (962,) * 3


# ----------------------------------------------------------------------------------------- COT


def test_cot_joined_on_release_date_not_report_date(zl: Inputs, zl_full: pl.DataFrame) -> None:
    # Report as of Tue 2025-01-14 is released Fri 2025-01-17: Tue/Wed/Thu still see 2025-01-07.
    for day in (D(2025, 1, 14), D(2025, 1, 15), D(2025, 1, 16)):
        r = _row(zl_full, day)
        assert r["cftc_report_date"] == D(2025, 1, 7)
        assert r["cftc_net_spec"] == 141860 - 136060  # legacy line 11 (2025-01-07)
    assert _row(zl_full, D(2025, 1, 17))["cftc_report_date"] == D(2025, 1, 14)
    # First legacy report (as of 2025-01-07, released Fri 2025-01-10): Thursday 2025-01-09 has
    # only the 2021-03-16 disaggregated report, stale by then -> all COT NULL.
    r = _row(zl_full, D(2025, 1, 9))
    assert r["cftc_report_date"] is None and r["cftc_net_spec"] is None and r["cftc_net_comm"] is None
    r = _row(zl_full, D(2025, 1, 10))
    assert r["cftc_report_date"] == D(2025, 1, 7)
    # previous report is the 2021 disaggregated one, not one week earlier: no 1-week change
    assert r["cftc_net_spec_chg_1w"] is None and r["cftc_net_comm_chg_1w"] is None


def test_cot_release_time_in_feature_asof(zl: Inputs) -> None:
    out = zl.build(fred=zl.fred.clear())  # without FRED, COT and bars set feature_asof
    # Fri 2025-01-17: release 15:30 EST = 20:30 UTC, after the ZL close (13:20 CST = 19:20 UTC)
    assert _row(out, D(2025, 1, 17))["feature_asof"] == dt.datetime(2025, 1, 17, 20, 30, tzinfo=UTC)
    assert _row(out, D(2025, 1, 16))["feature_asof"] == dt.datetime(2025, 1, 16, 19, 20, tzinfo=UTC)
    # Fri 2025-03-14 (EDT since 2025-03-09): 15:30 EDT = 19:30 UTC; ZL close 13:20 CDT = 18:20 UTC
    assert _row(out, D(2025, 3, 14))["feature_asof"] == dt.datetime(2025, 3, 14, 19, 30, tzinfo=UTC)
    # with FRED, its 21:00 UTC convention is the latest input
    assert _row(zl.build(), D(2025, 1, 17))["feature_asof"] == dt.datetime(2025, 1, 17, 21, 0, tzinfo=UTC)


def test_cot_stale_after_21_days(zl_full: pl.DataFrame) -> None:
    # last recorded legacy report: as of 2025-03-11 (released 2025-03-14)
    assert _row(zl_full, D(2025, 4, 1))["cftc_report_date"] == D(2025, 3, 11)  # 21 days
    r = _row(zl_full, D(2025, 4, 2))  # 22 days
    cot_cols = [c for c in FEATURE_SCHEMA if c.startswith("cftc_")]
    assert all(r[c] is None for c in cot_cols)
    covered = zl_full.filter(pl.col("cftc_report_date").is_not_null())
    assert covered["date"].min() == D(2025, 1, 10) and covered["date"].max() == D(2025, 4, 1)


def test_tff_leveraged_funds_and_3y_percentile(data_root: Path) -> None:
    """TFF path (ES 13874A, real CFTC TFF 2017-01..2023-02) against scipy's percentileofscore."""
    cot = ReplayCot(data_root).reports("13874A", D(2017, 1, 1), D(2023, 12, 31), report_types=("tff",))
    feats = cot_report_features(cot)
    lev = (cot["lev_money_long"] - cot["lev_money_short"]).to_list()
    assert feats["cftc_net_spec"].to_list() == lev
    assert set(feats["spec_category"]) == {"leveraged_funds"}
    assert feats["cftc_net_comm"].null_count() == feats.height  # TFF has no commercial category
    pct = feats["cftc_net_spec_pctile_3y"].to_list()
    rel = feats["release_date"].to_list()
    for i in range(feats.height):
        lower = rel[i].replace(year=rel[i].year - 3)
        prior = [lev[j] for j in range(i) if rel[j] > lower]
        if len(prior) < COT_PCTILE_MIN_REPORTS:
            assert pct[i] is None, i
        else:
            assert pct[i] == pytest.approx(percentileofscore(prior, lev[i], kind="weak"), abs=1e-9), i
    assert pct[COT_PCTILE_MIN_REPORTS - 1] is None and pct[COT_PCTILE_MIN_REPORTS] is not None


def test_es_tff_build_no_lookahead(data_root: Path) -> None:
    try:
        bars = ReplayMarketData(data_root).daily_bars("ES", D(2019, 1, 2), D(2019, 11, 5))
    except SourceUnavailableError:
        pytest.skip("futures_daily/ES.csv is not in this data root")
    sessions = exchange_sessions(MES, D(2019, 1, 2), D(2019, 11, 5))
    inputs = Inputs(
        "ES",
        bars,
        _fred(data_root, D(2018, 12, 1), D(2019, 12, 31)),
        one_report_per_week(ReplayCot(data_root).reports("13874A", D(2015, 1, 1), D(2023, 12, 31))),
        sessions.select("date", pl.col("session_close").alias("bar_close_utc")),
    )
    full = inputs.build()
    assert full["cftc_net_spec_pctile_3y"].null_count() == 0  # >= 52 TFF reports since 2017-01
    for cut in (D(2019, 3, 15), D(2019, 7, 3), D(2019, 11, 5)):
        assert_frame_equal(inputs.public_by(cut).build(), full.filter(pl.col("date") <= cut), check_exact=True)


# ------------------------------------------------------------------------------- policy regimes


def test_regime_flags_inside_outside_boundaries() -> None:
    days = [
        D(2017, 8, 17),
        D(2017, 8, 18),
        D(2018, 7, 6),
        D(2020, 1, 15),
        D(2020, 1, 16),
        D(2023, 6, 20),
        D(2023, 6, 21),
        D(2024, 6, 3),
        D(2025, 12, 31),
        D(2026, 1, 1),
    ]
    flags = regime_flags(days)
    assert flags["policy_trade_war_2017_19"] == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert flags["policy_regime_2023_25"] == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0]
    assert regime_flags([]) == {r.name: [] for r in POLICY_REGIMES}
    for r in POLICY_REGIMES:
        assert " FR " in r.start_source and r.citation.startswith("start: ")
    with pytest.raises(ValueError):
        regime_flags([dt.datetime(2020, 1, 1)])  # type: ignore[list-item]


def test_regime_flags_in_features(zl_full: pl.DataFrame) -> None:
    assert _row(zl_full, D(2023, 6, 20))["policy_regime_2023_25"] == 0
    assert _row(zl_full, D(2023, 6, 21))["policy_regime_2023_25"] == 1
    assert _row(zl_full, D(2025, 10, 14))["policy_regime_2023_25"] == 1
    assert zl_full["policy_trade_war_2017_19"].sum() == 0  # ZLZ25 history starts 2021-12-15


# ---------------------------------------------------------------------------------- validation


def test_invalid_inputs_raise_value_error(zl: Inputs) -> None:
    bars = zl.bars
    with pytest.raises(ValueError, match="unique and ascending"):
        zl.build(bars=bars.reverse())
    with pytest.raises(ValueError, match="duplicate"):
        zl.build(bars=pl.concat([bars.head(3), bars.slice(2, 1)]))
    with pytest.raises(ValueError, match="no bar_close_utc"):
        zl.build(asof_times=zl.asof.filter(pl.col("date") != D(2024, 10, 14)))
    with pytest.raises(ValueError, match="timezone-aware"):
        zl.build(asof_times=zl.asof.with_columns(pl.col("bar_close_utc").dt.replace_time_zone(None)))
    with pytest.raises(ValueError, match="fred VIXCLS dates"):
        zl.build(fred=pl.concat([zl.fred, zl.fred.filter(pl.col("series_id") == "VIXCLS").head(1)]))
    with pytest.raises(ValueError, match="cot report dates"):
        zl.build(cot=zl.cot.reverse())
    with pytest.raises(ValueError, match="missing columns"):
        zl.build(cot=zl.cot.drop("release_date"))
    with pytest.raises(ValueError, match="zigzag_k"):
        build_features("ZL", zl.bars, zl.fred, zl.cot, asof_times=zl.asof, calc_version="v", zigzag_k=0)
    with pytest.raises(ValueError, match="calc_version"):
        build_features("ZL", zl.bars, zl.fred, zl.cot, asof_times=zl.asof, calc_version="", zigzag_k=K)


def test_empty_bars_give_empty_frame(zl: Inputs) -> None:
    out = zl.build(bars=zl.bars.clear())
    assert out.height == 0 and out.schema == FEATURE_SCHEMA
