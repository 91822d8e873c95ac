"""ReplayFred and ReplayCot against the real recorded files (lines cited are 1-based file lines)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from mes_assets.sources import COT, FRED, DataQualityError, ReplayCot, ReplayFred

D = dt.date


@pytest.fixture(scope="module")
def fred(data_root: Path) -> ReplayFred:
    return ReplayFred(data_root)


@pytest.fixture(scope="module")
def cot(data_root: Path) -> ReplayCot:
    return ReplayCot(data_root)


def _one(frame: pl.DataFrame, **eq) -> dict:
    cond = pl.lit(True)
    for k, v in eq.items():
        cond = cond & (pl.col(k) == v)
    rows = frame.filter(cond).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# ----------------------------------------------------------------------------- FRED


def test_vix_holidays_are_null_not_zero(fred: ReplayFred) -> None:
    f = fred.series("VIXCLS", D(2024, 12, 23), D(2025, 1, 3))
    assert f.schema == FRED
    # fred/extended_fredapi/VIXCLS.csv line 9127: 2024-12-24,14.27 ; 9128: 2024-12-25, ; 9133: 2025-01-01,
    assert _one(f, date=D(2024, 12, 24))["value"] == 14.27
    assert _one(f, date=D(2024, 12, 25))["value"] is None
    assert _one(f, date=D(2025, 1, 1))["value"] is None
    assert (f["value"] == 0).sum() == 0
    assert f["source"][0] == "fred:VIXCLS fred/extended_fredapi/VIXCLS.csv"
    assert f["series_id"].unique().to_list() == ["VIXCLS"]


def test_extended_file_preferred_range(fred: ReplayFred) -> None:
    f = fred.series("VIXCLS", D(1980, 1, 1), D(2030, 1, 1))
    assert f["date"][0] == D(1990, 1, 2) and f["value"][0] == 17.24  # line 2: 1990-01-02,17.24
    assert f.height == 9391  # lines 2..9392 (README: 9391 rows)
    assert f["date"][-1] == D(2025, 12, 30) and f["value"][-1] == 14.33  # line 9392: 2025-12-30,14.33
    g = fred.series("DGS10", D(2025, 12, 30), D(2025, 12, 30))
    assert g["value"].to_list() == [4.14]  # DGS10 extended line 12002: 2025-12-30,4.14
    h = fred.series("dgs10", D(2024, 12, 25), D(2024, 12, 25))
    assert h["value"].to_list() == [None]  # line 11738: 2024-12-25, (blank)


def test_fallback_to_fredgraph_file(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "fred").mkdir()
    shutil.copyfile(data_root / "fred" / "VIXCLS.csv", tmp_path / "fred" / "VIXCLS.csv")
    f = ReplayFred(tmp_path).series("VIXCLS", D(2024, 12, 24), D(2024, 12, 25))
    # fred/VIXCLS.csv lines 6778-6779: 2024-12-24,14.27 / 2024-12-25, (blank)
    assert f["value"].to_list() == [14.27, None]
    assert f["source"][0] == "fred:VIXCLS fred/VIXCLS.csv"


def test_fred_dot_is_null_and_garbage_raises(tmp_path: Path) -> None:
    (tmp_path / "fred").mkdir()
    # HAND-MADE file (test input): FRED's "." missing marker and a blank
    (tmp_path / "fred" / "DGS2.csv").write_text("observation_date,DGS2\n2024-12-24,4.30\n2024-12-25,.\n2024-12-26,\n")
    f = ReplayFred(tmp_path).series("DGS2", D(2024, 1, 1), D(2024, 12, 31))
    assert f["value"].to_list() == [4.30, None, None]
    (tmp_path / "fred" / "DGS2.csv").write_text("observation_date,DGS2\n2024-12-24,n/a\n")
    with pytest.raises(DataQualityError, match="line 2: 'n/a'"):
        ReplayFred(tmp_path).series("DGS2", D(2024, 1, 1), D(2024, 12, 31))


def test_fred_unknown_series(fred: ReplayFred) -> None:
    with pytest.raises(ValueError, match="VIXCLS"):
        fred.series("UNRATE", D(2024, 1, 1), D(2024, 2, 1))


# ----------------------------------------------------------------------------- COT


def test_legacy_zl_row_by_hand(cot: ReplayCot) -> None:
    f = cot.reports("007601", D(2025, 3, 11), D(2025, 3, 11))
    assert f.schema == COT
    r = _one(f, report_type="legacy")
    # cot/legacy_2025_es_mes_zl.csv line 2 ("SOYBEAN OIL - CHICAGO BOARD OF TRADE",250311,2025-03-11,007601,...):
    # Open Interest (All) 566507, Noncommercial Long 116061 / Short 117607 (Spreading 108834),
    # Commercial Long 312372 / Short 311992
    assert r["open_interest"] == 566507
    assert (r["noncomm_long"], r["noncomm_short"]) == (116061, 117607)
    assert (r["comm_long"], r["comm_short"]) == (312372, 311992)
    assert r["release_date"] == D(2025, 3, 14)  # Tuesday as-of -> Friday release
    assert r["market_name"] == "SOYBEAN OIL - CHICAGO BOARD OF TRADE"
    assert r["lev_money_long"] is None and r["managed_money_long"] is None


def test_tff_es_row_by_hand_no_cross_mapping(cot: ReplayCot) -> None:
    f = cot.reports("13874A", D(2017, 12, 26), D(2017, 12, 26))
    # the Sergej derived legacy row for 2017-12-26 is dropped in favour of the official TFF row
    assert f["report_type"].to_list() == ["tff"]
    r = f.row(0, named=True)
    # cot/tff_2017_2023_es_mes_zl.csv line 2: E-MINI S&P 500 STOCK INDEX ...,171226,12/26/2017,13874A,CME ,00,138 ,
    # 3061310 (OI), 221187,824975,64305 (dealer L/S/spread), 1539279,746682,299002 (asset mgr),
    # 420751,570387,71863 (leveraged money)
    assert r["open_interest"] == 3061310
    assert (r["dealer_long"], r["dealer_short"]) == (221187, 824975)
    assert (r["asset_mgr_long"], r["asset_mgr_short"]) == (1539279, 746682)
    assert (r["lev_money_long"], r["lev_money_short"]) == (420751, 570387)
    assert r["noncomm_long"] is None and r["comm_long"] is None  # no cross-format mapping
    assert r["release_date"] == D(2017, 12, 29)


def test_tff_mes_and_renamed_es(cot: ReplayCot) -> None:
    mes = cot.reports("13874U", D(2023, 2, 28), D(2023, 2, 28)).row(0, named=True)
    # TFF line 405: MICRO E-MINI S&P 500 INDEX ...,230228,2/28/2023,13874U,...,190191,13813,6093,0,28898,4514,1469,80455,87818
    assert (mes["open_interest"], mes["dealer_long"], mes["lev_money_long"], mes["lev_money_short"]) == (
        190191,
        13813,
        80455,
        87818,
    )
    es = cot.reports("13874A", D(2023, 2, 28), D(2023, 2, 28)).row(0, named=True)
    assert es["market_name"] == "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE"  # line 396, renamed 2022-02
    assert es["open_interest"] == 2113159


def test_disaggregated_zl_row_by_hand(cot: ReplayCot) -> None:
    r = _one(cot.reports("007601", D(2021, 3, 16), D(2021, 3, 16)), report_type="disaggregated")
    # cot/disagg_2021q1_zl.csv line 2 (2021-03-16): OI 496726, Prod_Merc L/S 90660/325553,
    # Swap L/S/spread 102684/11142/13458, M_Money L/S 114556/18060
    assert r["open_interest"] == 496726
    assert (r["prod_merc_long"], r["prod_merc_short"]) == (90660, 325553)
    assert (r["swap_long"], r["swap_short"]) == (102684, 11142)
    assert (r["managed_money_long"], r["managed_money_short"]) == (114556, 18060)
    assert r["comm_long"] is None and r["noncomm_long"] is None


def test_sergej_derived_rows(cot: ReplayCot) -> None:
    f = cot.reports("13874A", D(2018, 12, 24), D(2018, 12, 24), report_types=("legacy_derived_sergej",))
    r = f.row(0, named=True)
    # cot/ES_cot.csv line 1082: 2018-12-24,1919787.0,2210018.0,36.33... (Monday as-of: Christmas week)
    assert (r["comm_long"], r["comm_short"]) == (1919787, 2210018)
    assert r["open_interest"] is None and r["noncomm_long"] is None  # not in the derived file
    assert r["release_date"] == D(2018, 12, 28)
    assert "derived" in r["source"]
    zl = cot.reports("007601", D(2019, 10, 22), D(2019, 10, 22), report_types=("legacy_derived_sergej",))
    assert (zl["comm_long"][0], zl["comm_short"][0]) == (218692, 315284)  # ZL_cot.csv line 1551
    assert zl["report_type"][0] == "legacy_derived_sergej"
    # where the data root also holds the official legacy export, that row wins and agrees
    preferred = cot.reports("007601", D(2019, 10, 22), D(2019, 10, 22)).row(0, named=True)
    assert preferred["report_type"] in ("legacy", "legacy_derived_sergej")
    assert (preferred["comm_long"], preferred["comm_short"]) == (218692, 315284)


def test_official_preferred_over_derived(cot: ReplayCot) -> None:
    f = cot.reports("13874A", D(2017, 1, 1), D(2019, 12, 31))
    assert set(f["report_type"].unique()) == {"tff"}  # every Sergej date here also has a TFF row
    both = cot.reports("13874A", D(2016, 12, 1), D(2017, 1, 3))
    assert both.filter(pl.col("report_date") == D(2017, 1, 3))["report_type"].to_list() == ["tff"]
    assert both.filter(pl.col("report_date") < D(2017, 1, 1))["report_type"].unique().to_list() == [
        "legacy_derived_sergej"
    ]
    # asked for explicitly, the derived row for 2017-01-03 is there (ES_cot.csv line 979)
    d = cot.reports("13874A", D(2017, 1, 3), D(2017, 1, 3), report_types=["legacy_derived_sergej"])
    assert d["comm_long"].to_list() == [2021109]


def test_cot_bad_arguments(cot: ReplayCot) -> None:
    assert cot.market_codes() == ["007601", "13874A", "13874U"]
    with pytest.raises(ValueError, match="007601"):
        cot.reports("999999", D(2020, 1, 1), D(2020, 2, 1))
    with pytest.raises(ValueError, match="report_types"):
        cot.reports("007601", D(2020, 1, 1), D(2020, 2, 1), report_types=("supplemental",))
