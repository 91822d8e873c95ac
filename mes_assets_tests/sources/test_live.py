"""Live clients, offline: credential errors (network forbidden), DBN decoding, JSON mapping."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
from pathlib import Path

import polars as pl
import pytest

from mes_assets.sources import (
    COT,
    DAILY_BARS,
    FRED,
    MINUTE_BARS,
    CftcLiveClient,
    DatabentoMarketData,
    DataQualityError,
    FredLiveClient,
    MissingCredentialsError,
    SourceUnavailableError,
    build_cftc_url,
    cftc_rows_to_frame,
    fred_observations_to_frame,
    ohlcv_store_to_frame,
)

UTC = dt.UTC
DBN_DIR = Path("databento_samples") / "GLBX.MDP3"


# Every test here runs with sockets blocked (conftest.no_network): live clients are tested offline.
pytestmark = pytest.mark.usefixtures("no_network")


# ----------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("key", [None, "", "   "])
def test_databento_without_key(key: str | None) -> None:
    with pytest.raises(MissingCredentialsError, match="DATABENTO_API_KEY is not set") as ei:
        DatabentoMarketData(key)
    assert ei.value.env_var == "DATABENTO_API_KEY"
    assert "MES_SOURCE_MODE=replay" in str(ei.value)


@pytest.mark.parametrize("key", [None, ""])
def test_fred_without_key(key: str | None) -> None:
    with pytest.raises(MissingCredentialsError, match="FRED_API_KEY is not set"):
        FredLiveClient(key)


def test_keys_never_in_repr() -> None:
    secret = "db-SECRETSECRET123"
    d = DatabentoMarketData(secret)  # construction alone must not touch the network
    f = FredLiveClient("fredSECRET456")
    assert secret not in repr(d) and "SECRET" not in repr(f)
    assert "SECRET" not in repr(vars(d)) and "SECRET" not in repr(vars(f))


def test_fred_errors_redact_key() -> None:
    seen: list[str] = []

    def failing_get(url: str, timeout: float) -> bytes:
        seen.append(url)
        raise urllib.error.URLError(f"cannot reach {url}")  # an error that echoes the URL

    client = FredLiveClient("fredSECRET456", http_get=failing_get)
    with pytest.raises(SourceUnavailableError) as ei:
        client.series("VIXCLS", dt.date(2024, 12, 23), dt.date(2024, 12, 27))
    assert "SECRET" not in str(ei.value) and "***" in str(ei.value)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(seen[0]).query)
    assert seen[0].startswith("https://api.stlouisfed.org/fred/series/observations?")
    assert q["series_id"] == ["VIXCLS"] and q["file_type"] == ["json"]
    assert q["observation_start"] == ["2024-12-23"] and q["observation_end"] == ["2024-12-27"]


def test_databento_bad_symbol_before_network() -> None:
    d = DatabentoMarketData("db-key")
    with pytest.raises(ValueError, match="MES"):
        d.minute_bars("NQ", dt.datetime(2024, 1, 2, tzinfo=UTC), dt.datetime(2024, 1, 3, tzinfo=UTC))


# ----------------------------------------------------------------------------- Databento DBN


def test_decode_recorded_dbn_ohlcv_1m(data_root: Path) -> None:
    import databento

    store = databento.DBNStore.from_file(data_root / DBN_DIR / "test_data.ohlcv-1m.dbn.zst")
    f = ohlcv_store_to_frame(store, "ES", "databento:GLBX.MDP3 ohlcv-1m ESH1 (recorded sample)")
    assert f.schema == MINUTE_BARS
    assert f.height == 4
    # first record: ESH1 (instrument 5482) ts_event 1609113600000000000 = 2020-12-28 00:00 UTC,
    # open/high/low/close fixed-point 3702750000000/3704750000000/3702500000000/3704750000000, volume 306
    r = f.row(0, named=True)
    assert r["ts_event"] == dt.datetime(2020, 12, 28, 0, 0, tzinfo=UTC)
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (3702.75, 3704.75, 3702.5, 3704.75, 306)
    assert f["close"].is_between(3600, 3800).all()  # index points, not 1e-9 fixed point
    assert f["ts_event"].diff().drop_nulls().to_list() == [dt.timedelta(minutes=1)] * 3
    assert f["source_symbol"].unique().to_list() == ["ES"]


def test_decode_recorded_dbn_ohlcv_1d(data_root: Path) -> None:
    import databento

    store = databento.DBNStore.from_file(data_root / DBN_DIR / "test_data.ohlcv-1d.dbn.zst")
    f = ohlcv_store_to_frame(store, "ES", "databento:GLBX.MDP3 ohlcv-1d ESH1 (recorded sample)")
    assert f.schema == DAILY_BARS
    r = f.row(0, named=True)
    assert r["date"] == dt.date(2020, 12, 28)
    assert (r["open"], r["high"], r["low"], r["close"], r["volume"]) == (3702.75, 3735.0, 3697.25, 3735.0, 718174)
    assert r["open_interest"] is None


def test_decode_rejects_non_ohlcv_store(data_root: Path) -> None:
    import databento

    store = databento.DBNStore.from_file(data_root / DBN_DIR / "test_data.trades.dbn.zst")
    with pytest.raises(ValueError, match="ohlcv-1m or ohlcv-1d"):
        ohlcv_store_to_frame(store, "ES", "x")


# ----------------------------------------------------------------------------- FRED JSON


def _fred_payload_from_recorded(data_root: Path, start: str, end: str) -> dict:
    """FRED-API-shaped payload built from real rows of fred/extended_fredapi/VIXCLS.csv.

    The API writes "." where the csv dump has a blank (e.g. 2024-12-25, line 9128).
    """
    obs = []
    for line in (data_root / "fred" / "extended_fredapi" / "VIXCLS.csv").read_text().splitlines()[1:]:
        d, v = line.split(",")
        if start <= d <= end:
            obs.append({"realtime_start": "2025-12-31", "realtime_end": "2025-12-31", "date": d, "value": v or "."})
    return {"count": len(obs), "offset": 0, "limit": 100000, "observations": obs}


def test_fred_json_dot_is_null(data_root: Path) -> None:
    payload = _fred_payload_from_recorded(data_root, "2024-12-23", "2025-01-03")
    f = fred_observations_to_frame(payload, "VIXCLS", "fred:VIXCLS api")
    assert f.schema == FRED
    vals = dict(zip(f["date"].to_list(), f["value"].to_list()))
    assert vals[dt.date(2024, 12, 24)] == 14.27 and vals[dt.date(2024, 12, 25)] is None
    assert vals[dt.date(2025, 1, 1)] is None
    with pytest.raises(DataQualityError, match="not a number"):
        fred_observations_to_frame({"observations": [{"date": "2024-12-24", "value": "abc"}]}, "VIXCLS", "x")


def test_fred_client_with_recorded_payload(data_root: Path) -> None:
    payload = _fred_payload_from_recorded(data_root, "2024-12-23", "2025-01-03")
    client = FredLiveClient("k", http_get=lambda url, timeout: json.dumps(payload).encode())
    f = client.series("VIXCLS", dt.date(2024, 12, 23), dt.date(2025, 1, 3))
    assert f.height == 10 and f["value"].null_count() == 2


# ----------------------------------------------------------------------------- CFTC


def test_build_cftc_url() -> None:
    url = build_cftc_url("tff", "13874A", dt.date(2017, 1, 1), dt.date(2017, 12, 31))
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == "publicreporting.cftc.gov" and parts.path == "/resource/gpe5-46if.json"
    q = urllib.parse.parse_qs(parts.query)
    assert "cftc_contract_market_code='13874A'" in q["$where"][0]
    assert "lev_money_positions_long" in q["$select"][0]
    assert "6dca-aqww" in build_cftc_url("legacy", "007601", dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    assert "72hh-3qpy" in build_cftc_url("disaggregated", "007601", dt.date(2021, 1, 1), dt.date(2021, 3, 31))
    with pytest.raises(ValueError):
        build_cftc_url("legacy", "0076' OR '1'='1", dt.date(2025, 1, 1), dt.date(2025, 3, 31))


# Socrata-shaped row carrying the values of cot/legacy_2025_es_mes_zl.csv line 2 (ZL 2025-03-11)
LEGACY_ZL_20250311 = {
    "market_and_exchange_names": "SOYBEAN OIL - CHICAGO BOARD OF TRADE",
    "report_date_as_yyyy_mm_dd": "2025-03-11T00:00:00.000",
    "cftc_contract_market_code": "007601",
    "open_interest_all": "566507",
    "noncomm_positions_long_all": "116061",
    "noncomm_positions_short_all": "117607",
    "comm_positions_long_all": "312372",
    "comm_positions_short_all": "311992",
}


def test_cftc_rows_match_replay(data_root: Path) -> None:
    from mes_assets.sources import ReplayCot

    live = cftc_rows_to_frame([LEGACY_ZL_20250311], "legacy", "cftc:legacy api")
    assert live.schema == COT
    replay = ReplayCot(data_root).reports("007601", dt.date(2025, 3, 11), dt.date(2025, 3, 11), report_types=["legacy"])
    cols = [
        "report_date",
        "release_date",
        "market_code",
        "market_name",
        "open_interest",
        "noncomm_long",
        "noncomm_short",
        "comm_long",
        "comm_short",
        "lev_money_long",
    ]
    assert live.select(cols).to_dicts() == replay.select(cols).to_dicts()


def test_cftc_missing_field_everywhere_raises() -> None:
    row = {k: v for k, v in LEGACY_ZL_20250311.items() if k != "comm_positions_long_all"}
    with pytest.raises(DataQualityError, match="comm_positions_long_all"):
        cftc_rows_to_frame([row], "legacy", "x")
    assert cftc_rows_to_frame([], "tff", "x").schema == COT


def test_cftc_client_pages_without_network() -> None:
    urls: list[str] = []

    def fake_get(url: str, timeout: float) -> bytes:
        urls.append(url)
        return json.dumps([LEGACY_ZL_20250311]).encode()

    f = CftcLiveClient(http_get=fake_get).reports(
        "007601", dt.date(2025, 3, 1), dt.date(2025, 3, 31), report_types=["legacy"]
    )
    assert len(urls) == 1 and f.height == 1
    assert f["comm_short"].to_list() == [311992]
    assert f.filter(pl.col("report_type") != "legacy").height == 0
