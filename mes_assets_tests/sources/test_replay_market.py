"""ReplayMarketData against the real recorded files (values read by hand from the csv lines cited)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from mes_assets.sources import (
    DAILY_BARS,
    MINUTE_BARS,
    DataQualityError,
    ReplayMarketData,
    SourceUnavailableError,
)

UTC = dt.UTC
ZL_FILE = "futures_daily/barchart_zlz25_daily_historical-data-10-15-2025.csv"


@pytest.fixture(scope="module")
def md(data_root: Path) -> ReplayMarketData:
    return ReplayMarketData(data_root)


def _row(frame: pl.DataFrame, col: str, value) -> dict:
    rows = frame.filter(pl.col(col) == value).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# ----------------------------------------------------------------------------- ZL daily


def test_zl_real_row_2024_06_12(md: ReplayMarketData) -> None:
    f = md.daily_bars("ZL", dt.date(2024, 6, 1), dt.date(2024, 6, 30))
    assert f.schema == DAILY_BARS
    # line 339: 2024-06-12,44.08,44.19,43.72,43.91,0.11,+0.25%,178539,565957
    r = _row(f, "date", dt.date(2024, 6, 12))
    assert (r["open"], r["high"], r["low"], r["close"]) == (44.08, 44.19, 43.72, 43.91)
    assert (r["volume"], r["open_interest"]) == (178539, 565957)
    assert r["source"].startswith(f"barchart:ZLZ25 {ZL_FILE}")
    assert "all-months" in r["source"]
    assert f["date"].is_sorted()


def test_zl_partial_session_dropped_by_download_date(md: ReplayMarketData) -> None:
    f = md.daily_bars("ZL", dt.date(2021, 1, 1), dt.date(2026, 1, 1))
    # 963 data rows (lines 2..964) minus the 2025-10-15 intraday row (line 2, footer "as of 10-15-2025")
    assert f.height == 962
    assert f["date"].max() == dt.date(2025, 10, 14)
    assert f["date"].min() == dt.date(2021, 12, 15)  # line 964
    # line 3: 2025-10-14,50.6,50.68,49.72,50.57,...,132864,625438
    r = _row(f, "date", dt.date(2025, 10, 14))
    assert (r["open"], r["close"], r["open_interest"]) == (50.6, 50.57, 625438)


def test_zl_close_outside_range_kept(md: ReplayMarketData) -> None:
    # line 944: 2022-01-13,55.07,55.07,55.07,54.64 -- Last below the flat O/H/L, a real vendor print
    f = md.daily_bars("ZL", dt.date(2022, 1, 13), dt.date(2022, 1, 13))
    r = f.row(0, named=True)
    assert (r["low"], r["close"]) == (55.07, 54.64)


def test_zl_without_footer_raises(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "futures_daily").mkdir()
    lines = (data_root / ZL_FILE).read_text().splitlines()
    # real lines, footer removed: completeness of the newest row can no longer be judged
    (tmp_path / ZL_FILE).write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataQualityError, match="footer"):
        ReplayMarketData(tmp_path).daily_bars("ZL", dt.date(2025, 1, 1), dt.date(2025, 12, 31))


# ----------------------------------------------------------------------------- ES daily


def test_es_daily_real_row_uses_last(md: ReplayMarketData) -> None:
    f = md.daily_bars("es", dt.date(2019, 10, 1), dt.date(2019, 11, 5))
    # line 5643: 2019-11-05,3079.0,3087.25,3072.25,3073.5,3.75,3074.0,8246.0,115343.0
    r = _row(f, "date", dt.date(2019, 11, 5))
    assert (r["open"], r["high"], r["low"], r["close"]) == (3079.0, 3087.25, 3072.25, 3073.5)
    assert r["volume"] == 8246
    assert r["open_interest"] is None  # CHRIS only has previous-day OI: left missing
    assert "close=Last" in r["source"]
    # line 5618: 2019-10-01 is the first row of the window
    assert f["date"][0] == dt.date(2019, 10, 1)


def test_es_daily_vendor_high_below_low_raises(md: ReplayMarketData) -> None:
    # line 585: 1999-12-20,1453.0,1456.0,1461.75,... high 1456 < low 1461.75 (real CHRIS quirk)
    with pytest.raises(DataQualityError, match=r"high < low: row \d+ \(1999-12-20\)"):
        md.daily_bars("ES", dt.date(1999, 12, 1), dt.date(1999, 12, 31))


def test_daily_bad_arguments(md: ReplayMarketData) -> None:
    with pytest.raises(ValueError, match=r"supports \['ZL', 'ES'\]"):
        md.daily_bars("CL", dt.date(2020, 1, 1), dt.date(2020, 2, 1))
    with pytest.raises(TypeError):
        md.daily_bars("ZL", dt.datetime(2024, 1, 1), dt.date(2024, 2, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after"):
        md.daily_bars("ZL", dt.date(2024, 2, 1), dt.date(2024, 1, 1))


def test_daily_window_without_rows_is_empty(md: ReplayMarketData) -> None:
    f = md.daily_bars("ZL", dt.date(2010, 1, 1), dt.date(2010, 12, 31))
    assert f.height == 0 and f.schema == DAILY_BARS


# ----------------------------------------------------------------------------- ES 1-minute


def test_minute_dst_spring_forward(md: ReplayMarketData) -> None:
    f = md.minute_bars("ES", dt.datetime(2023, 3, 9, 22, 0, tzinfo=UTC), dt.datetime(2023, 3, 13, 0, 0, tzinfo=UTC))
    assert f.schema == MINUTE_BARS
    # line 2401: 2023-03-09 18:00:00,3953.75,... -> EST (UTC-5) -> 23:00 UTC
    r = _row(f, "ts_event", dt.datetime(2023, 3, 9, 23, 0, tzinfo=UTC))
    assert r["open"] == 3953.75
    # line 3780: 2023-03-10 16:59:00,3913.00,3914.75,3910.25,3913.75,2399 -> 21:59 UTC (EST)
    r = _row(f, "ts_event", dt.datetime(2023, 3, 10, 21, 59, tzinfo=UTC))
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (3913.0, 3914.75, 3910.25, 3913.75, 2399)
    # line 3781: 2023-03-12 18:00:00,3920.50,3925.00,3910.00,3913.25,4114 -> EDT (UTC-4) -> 22:00 UTC
    r = _row(f, "ts_event", dt.datetime(2023, 3, 12, 22, 0, tzinfo=UTC))
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (3920.5, 3925.0, 3910.0, 3913.25, 4114)
    assert r["source_symbol"] == "ES"
    assert r["source"] == "firstrate ES 1m futures_1m/es_1m_firstrate_2023-03.csv"
    # nothing between Friday's 16:59 ET bar and Sunday's 18:00 ET open (weekend)
    weekend = f.filter(
        pl.col("ts_event").is_between(
            dt.datetime(2023, 3, 10, 22, 0, tzinfo=UTC), dt.datetime(2023, 3, 12, 21, 59, tzinfo=UTC)
        )
    )
    assert weekend.height == 0


def test_minute_headerless_first_line_is_data(md: ReplayMarketData) -> None:
    # 2023-03 file has no header; line 1: 2023-03-08 00:00:00,4024.75,4025.50,4024.75,4025.00,307 (EST)
    f = md.minute_bars("ES", dt.datetime(2023, 3, 8, 5, 0, tzinfo=UTC), dt.datetime(2023, 3, 8, 5, 1, tzinfo=UTC))
    assert f.height == 1
    assert f.row(0, named=True)["open"] == 4024.75 and f.row(0, named=True)["volume"] == 307


def test_minute_window_is_half_open(md: ReplayMarketData) -> None:
    s = dt.datetime(2023, 3, 10, 21, 55, tzinfo=UTC)
    f = md.minute_bars("ES", s, s + dt.timedelta(minutes=3))
    assert f["ts_event"].to_list() == [s, s + dt.timedelta(minutes=1), s + dt.timedelta(minutes=2)]


def test_mes_is_labelled_es_proxy(md: ReplayMarketData) -> None:
    s = dt.datetime(2023, 10, 9, 20, 59, tzinfo=UTC)
    f = md.minute_bars("MES", s, s + dt.timedelta(minutes=1))
    r = f.row(0, named=True)
    # 2023-09 file line 15177: 2023-10-09 16:59:00,4369.00,4369.25,4368.25,4368.75,547 (EDT -> 20:59 UTC)
    assert (r["open"], r["close"], r["volume"]) == (4369.0, 4368.75, 547)
    assert r["source_symbol"] == "ES"
    assert r["source"].startswith("firstrate ES 1m (ES proxy for MES)")


def test_minute_coverage_and_lazy_files(data_root: Path) -> None:
    md = ReplayMarketData(data_root)
    cov = md.minute_coverage("MES")
    assert cov == [
        (dt.datetime(2023, 3, 8, 5, 0, tzinfo=UTC), dt.datetime(2023, 3, 23, 20, 59, tzinfo=UTC)),
        (dt.datetime(2023, 9, 24, 22, 0, tzinfo=UTC), dt.datetime(2023, 10, 9, 20, 59, tzinfo=UTC)),
        # 2025-04 file stops mid-session at 2025-05-05 20:10 ET (EDT) = 2025-05-06 00:10 UTC
        (dt.datetime(2025, 4, 20, 22, 0, tzinfo=UTC), dt.datetime(2025, 5, 6, 0, 10, tzinfo=UTC)),
    ]
    f = md.minute_bars("ES", dt.datetime(2025, 5, 6, 0, 0, tzinfo=UTC), dt.datetime(2025, 5, 7, tzinfo=UTC))
    assert f.height == 11  # 20:00..20:10 ET
    assert [p.name for p in md._minute_cache] == ["es_1m_firstrate_2025-04.csv"]  # only that file parsed
    gap = md.minute_bars("ES", dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 2, 1, tzinfo=UTC))
    assert gap.height == 0 and gap.schema == MINUTE_BARS


def test_minute_bad_arguments(md: ReplayMarketData) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        md.minute_bars("ES", dt.datetime(2023, 3, 9), dt.datetime(2023, 3, 10, tzinfo=UTC))
    with pytest.raises(ValueError, match=r"supports \['ES', 'MES'\]"):
        md.minute_bars("NQ", dt.datetime(2023, 3, 9, tzinfo=UTC), dt.datetime(2023, 3, 10, tzinfo=UTC))


def _tmp_minute_root(tmp_path: Path, data_root: Path, extra_line: str, *, at: int) -> Path:
    """A root holding the real 2023-03 file with ONE hand-made line inserted (test input only)."""
    (tmp_path / "futures_1m").mkdir()
    lines = (data_root / "futures_1m" / "es_1m_firstrate_2023-03.csv").read_text().splitlines()
    lines.insert(at if at >= 0 else len(lines), extra_line)
    (tmp_path / "futures_1m" / "es_1m_firstrate_handmade.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_nonexistent_local_time_raises(data_root: Path, tmp_path: Path) -> None:
    # HAND-MADE line: 02:30 on 2023-03-12 does not exist in America/New_York
    root = _tmp_minute_root(tmp_path, data_root, "2023-03-12 02:30:00,1.00,1.00,1.00,1.00,1", at=5)
    with pytest.raises(DataQualityError, match=r"line 6: 2023-03-12 02:30:00 is nonexistent"):
        ReplayMarketData(root).minute_bars(
            "ES", dt.datetime(2023, 3, 8, tzinfo=UTC), dt.datetime(2023, 3, 9, tzinfo=UTC)
        )


def test_ambiguous_local_time_raises(data_root: Path, tmp_path: Path) -> None:
    # HAND-MADE line: 01:30 on 2023-11-05 happens twice in America/New_York
    root = _tmp_minute_root(tmp_path, data_root, "2023-11-05 01:30:00,1.00,1.00,1.00,1.00,1", at=-1)
    with pytest.raises(DataQualityError, match="ambiguous"):
        ReplayMarketData(root).minute_coverage("ES")


def test_missing_root_raises_source_unavailable(tmp_path: Path) -> None:
    md = ReplayMarketData(tmp_path / "nope")
    with pytest.raises(SourceUnavailableError, match="MES_DATA_DIR"):
        md.daily_bars("ZL", dt.date(2024, 1, 1), dt.date(2024, 2, 1))
    with pytest.raises(SourceUnavailableError):
        md.minute_coverage("ES")
