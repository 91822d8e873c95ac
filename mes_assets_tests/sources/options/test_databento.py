"""Live options OI readers, offline: credentials, DBN record conversion, the CME EOD file reader.

Payloads
--------
The Databento payloads below are CONSTRUCTED TEST PAYLOADS, not market data: records are built
with ``databento_dbn``'s own ``InstrumentDefMsg`` / ``StatMsg`` types (real field names, DBN
fixed-point prices, real enum values), encoded to DBN bytes and decoded by
``databento.DBNStore.to_df()`` - exactly the frames a ``get_range(...)`` download gives. Values
are realistic in size (ES strikes near 5,900 index points, OI in the hundreds/thousands) but
invented. The only real records used are the recorded Databento samples (ESH1 future) under
``databento_samples/GLBX.MDP3``. The CME settlement CSV is likewise a constructed file in the
documented layout (``CME_EOD_COLUMNS``), not a CME file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import databento
import databento_dbn as dbn
import numpy as np
import pandas as pd
import polars as pl
import pytest

from mes_assets.sources import DataQualityError, MissingCredentialsError, SourceUnavailableError
from mes_assets.sources.options.cme_eod import CME_EOD_COLUMNS, CmeEodOptionsFile
from mes_assets.sources.options.databento import (
    DEFINITIONS,
    STATISTICS,
    DatabentoOptions,
    definitions_to_frame,
    futures_settlements,
    join_definitions_statistics,
    statistics_to_frame,
)
from mes_assets.sources.options.records import DROP_REASONS, OptionsOiResult
from mes_assets.sources.schemas import OPTIONS_OI_RAW

UTC = dt.UTC
NS = 10**9
D = dt.date(2025, 3, 3)  # a Monday: the Friday (2025-02-28) OI is "known by the close" of D
INGESTED = dt.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)
DBN_DIR = Path("databento_samples") / "GLBX.MDP3"


# Every test here runs with sockets blocked (conftest.no_network): live clients are tested offline.
pytestmark = pytest.mark.usefixtures("no_network")


# ----------------------------------------------------------------------------- constructed DBN


def _ns(ts: str) -> int:
    return pd.Timestamp(ts, tz="UTC").value


def _to_df(schema: dbn.Schema, records: list, **to_df_kwargs) -> pd.DataFrame:
    """Encode constructed records as a DBN v3 stream and decode it like a download would be."""
    meta = dbn.Metadata(
        dataset="GLBX.MDP3",
        start=_ns("2025-02-27"),
        end=_ns("2025-03-05"),
        stype_in=dbn.SType.PARENT,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=schema,
        symbols=["ES.OPT"],
        version=3,
    )
    store = databento.DBNStore.from_bytes(bytes(meta) + b"".join(bytes(r) for r in records))
    return store.to_df(**to_df_kwargs)


C, P = dbn.InstrumentClass.CALL, dbn.InstrumentClass.PUT
ADD, MODIFY, DELETE = (dbn.SecurityUpdateAction.ADD, dbn.SecurityUpdateAction.MODIFY, dbn.SecurityUpdateAction.DELETE)
E1, E2, E3, E4 = "2025-03-07 21:00", "2025-03-14 21:00", "2025-03-21 21:00", "2025-04-17 20:00"  # 15:00 CT


def _definition(iid, raw_symbol, cls, strike, expiration, underlying="ESH5", action=ADD, recv="2025-03-03 00:00:01"):
    return dbn.InstrumentDefMsg(
        publisher_id=1,
        instrument_id=iid,
        ts_event=_ns(recv),
        ts_recv=_ns(recv),
        min_price_increment=50_000_000,  # 0.05
        display_factor=10_000_000,
        raw_symbol=raw_symbol,
        asset="ES",
        security_type="OOF",
        instrument_class=cls,
        security_update_action=action,
        expiration=_ns(expiration),
        strike_price=round(strike * NS),  # DBN fixed point, 1 unit = 1e-9
        unit_of_measure_qty=50 * NS,
        unit_of_measure="IPNT",
        underlying=underlying,
        contract_multiplier=1,
        currency="USD",
        exchange="XCME",
    )


DEFINITION_RECORDS = [
    _definition(101, "ESH5 C5900", C, 5895.0, E1, recv="2025-03-03 00:00:01"),
    _definition(101, "ESH5 C5900", C, 5900.0, E1, action=MODIFY, recv="2025-03-03 00:00:02"),  # last wins
    _definition(102, "ESH5 P5900", P, 5900.0, E1),
    _definition(103, "ESH5 C6000", C, 6000.0, E1),  # OI 0 -> zero_oi
    _definition(104, "ESH5 P5800", P, 5800.0, E1),  # no OI record -> blank_oi
    _definition(105, "ESH5 C5950", C, 5950.0, E2),  # preliminary settlement only
    _definition(106, "ESH5 P5700", P, 5700.0, E3),
    _definition(107, "ESM5 C6100", C, 6100.0, E4, underlying="ESM5"),  # 4th expiry -> beyond front
    _definition(108, "ESH5 C5900 0DTE", C, 5900.0, "2025-03-03 21:00"),  # expiry == date -> expired
    _definition(109, "ESM5 P5900", P, 5900.0, E2, underlying="ESM5"),  # no ESM5 price -> no_underlying_price
    _definition(110, "ESH5 C5000", C, 5000.0, E1),
    _definition(110, "ESH5 C5000", C, 5000.0, E1, action=DELETE, recv="2025-03-03 00:00:03"),  # deleted
]

OI, SETTLE, VOLUME = dbn.StatType.OPEN_INTEREST, dbn.StatType.SETTLEMENT_PRICE, dbn.StatType.CLEARED_VOLUME
NEW, DEL = dbn.StatUpdateAction.NEW, dbn.StatUpdateAction.DELETE
FINAL_ACTUAL, PRELIM_ACTUAL, INTRADAY = 0b0011, 0b0010, 0b1010  # CME SettlPriceType bits
NULL_FLAGS = 255


def _stat(iid, stat_type, ref, recv, *, price=None, qty=None, flags=NULL_FLAGS, action=NEW):
    return dbn.StatMsg(
        publisher_id=1,
        instrument_id=iid,
        ts_event=_ns(recv),
        ts_recv=_ns(recv),
        ts_ref=_ns(ref),
        price=dbn.UNDEF_PRICE if price is None else round(price * NS),
        quantity=dbn.UNDEF_STAT_QUANTITY if qty is None else qty,
        stat_type=stat_type,
        update_action=action,
        stat_flags=flags,
    )


FRI, MON, TUE_AM = "2025-02-28", "2025-03-03", "2025-03-04 11:00"
STATISTIC_RECORDS = [
    _stat(101, OI, "2025-02-27", "2025-02-28 11:00", qty=1100),  # older trading date: superseded
    _stat(101, OI, FRI, "2025-03-03 11:00", qty=1200),
    _stat(102, OI, FRI, "2025-03-03 11:00", qty=800),
    _stat(103, OI, FRI, "2025-03-03 11:00", qty=500),
    _stat(103, OI, FRI, "2025-03-03 11:05", qty=500, action=DEL),  # deleted ...
    _stat(103, OI, FRI, "2025-03-03 11:06", qty=0),  # ... and re-sent as 0
    _stat(105, OI, FRI, "2025-03-03 11:00", qty=300),
    _stat(106, OI, FRI, "2025-03-03 11:00", qty=5000),
    _stat(107, OI, FRI, "2025-03-03 11:00", qty=50),
    _stat(108, OI, FRI, "2025-03-03 11:00", qty=10),
    _stat(109, OI, FRI, "2025-03-03 11:00", qty=70),
    _stat(999, OI, FRI, "2025-03-03 11:00", qty=42),  # no definition
    _stat(101, OI, MON, TUE_AM, qty=1250),  # OI calculated for D, published the next morning
    _stat(101, VOLUME, FRI, "2025-03-03 11:00", qty=321),  # other stat type: ignored
    _stat(101, SETTLE, MON, "2025-03-03 21:00", price=44.75, flags=PRELIM_ACTUAL),
    _stat(101, SETTLE, MON, "2025-03-03 23:00", price=45.25, flags=FINAL_ACTUAL),
    _stat(102, SETTLE, MON, "2025-03-03 23:00", price=38.5, flags=FINAL_ACTUAL),
    _stat(102, SETTLE, MON, "2025-03-03 23:30", price=99.0, flags=INTRADAY),  # intraday: ignored
    _stat(105, SETTLE, MON, "2025-03-03 21:00", price=61.0, flags=PRELIM_ACTUAL),
    _stat(106, SETTLE, MON, "2025-03-03 23:00", price=12.05, flags=FINAL_ACTUAL),
    _stat(106, SETTLE, FRI, "2025-02-28 23:00", price=14.0, flags=FINAL_ACTUAL),  # previous session
]


def _lookup_esh5(underlying: str, day: dt.date) -> float | None:
    """Caller lookup: the (constructed) ESH5 settlement on D; nothing for other contracts."""
    return 5950.25 if (underlying, day) == ("ESH5", D) else None


@pytest.fixture(scope="module")
def def_df() -> pd.DataFrame:
    return _to_df(dbn.Schema.DEFINITION, DEFINITION_RECORDS)


@pytest.fixture(scope="module")
def stat_df() -> pd.DataFrame:
    return _to_df(dbn.Schema.STATISTICS, STATISTIC_RECORDS)


# ----------------------------------------------------------------------------- credentials


@pytest.mark.parametrize("key", [None, "", "   "])
def test_databento_options_without_key(key: str | None) -> None:
    with pytest.raises(MissingCredentialsError, match="DATABENTO_API_KEY is not set") as ei:
        DatabentoOptions(key)
    assert ei.value.env_var == "DATABENTO_API_KEY"


def test_key_never_in_repr() -> None:
    secret = "db-OPTSECRETKEY0123456789abcdefg"
    client = DatabentoOptions(secret)  # construction alone must not touch the network
    assert secret not in repr(client) and "OPTSECRET" not in repr(vars(client))
    assert "api_key=<set>" in repr(client)


def test_request_errors_redact_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real get_range path, with databento.Historical replaced by one that fails echoing the key."""
    secret = "db-OPTSECRETKEY0123456789abcdefg"

    class EchoingHistorical:
        def __init__(self, key: str) -> None:
            self.key = key
            self.timeseries = self

        def get_range(self, **kwargs):
            raise databento.BentoClientError(f"401 auth failed for key {self.key} on {kwargs['symbols']}")

    monkeypatch.setattr(databento, "Historical", EchoingHistorical)
    client = DatabentoOptions(secret, underlying_price_lookup=_lookup_esh5)
    with pytest.raises(SourceUnavailableError) as ei:
        client.oi_raw("ES", D, rate=0.04)
    assert "OPTSECRET" not in str(ei.value) and "***" in str(ei.value)
    assert "ES.OPT" in str(ei.value) and "definition" in str(ei.value)


def test_arguments_checked_before_network() -> None:
    calls: list[tuple] = []
    client = DatabentoOptions("db-key", fetch=lambda *a: calls.append(a))
    with pytest.raises(ValueError, match="underlying_price_lookup is required"):
        client.oi_raw("ES", D, rate=0.04)
    with pytest.raises(ValueError, match="unknown options symbol"):
        client.oi_raw("NQ", D, rate=0.04, underlying_price_lookup=_lookup_esh5)
    with pytest.raises(ValueError, match="datetime.date"):
        client.oi_raw("ES", dt.datetime(2025, 3, 3), rate=0.04, underlying_price_lookup=_lookup_esh5)
    with pytest.raises(ValueError, match="rate"):
        client.oi_raw("ES", D, rate=float("nan"), underlying_price_lookup=_lookup_esh5)
    assert calls == []


def test_parent_resolution() -> None:
    assert DatabentoOptions.resolve("ES") == ("ES", "ES.OPT", 50.0)
    assert DatabentoOptions.resolve("mes") == ("MES", "MES.OPT", 5.0)
    # CBOT soybean oil options trade as Globex OZL (cf. Databento: CL options are LO.OPT)
    assert DatabentoOptions.resolve("ZL") == ("ZL", "OZL.OPT", 600.0)
    assert DatabentoOptions.resolve("OZL.OPT") == ("ZL", "OZL.OPT", 600.0)
    assert DatabentoOptions.resolve("ZL", parent="ZL.OPT") == ("ZL", "ZL.OPT", 600.0)
    with pytest.raises(ValueError, match="multiplier"):
        DatabentoOptions.resolve("XYZ.OPT")


# ----------------------------------------------------------------------------- DBN conversions


def test_definitions_to_frame(def_df: pd.DataFrame) -> None:
    assert def_df.index.name == "ts_recv" and "strike_price" in def_df.columns  # the real to_df layout
    f = definitions_to_frame(def_df)
    assert f.schema == DEFINITIONS
    assert f["instrument_id"].to_list() == list(range(101, 110))  # 110 deleted
    r = f.filter(pl.col("instrument_id") == 101).row(0, named=True)
    assert r["strike"] == 5900.0  # the MODIFY record, decoded from 5900000000000
    assert (r["call_put"], r["instrument_class"], r["raw_symbol"]) == ("C", "C", "ESH5 C5900")
    assert r["expiry"] == dt.date(2025, 3, 7)  # 21:00 UTC = 15:00 CT
    assert (r["underlying"], r["unit_of_measure"], r["unit_of_measure_qty"], r["contract_multiplier"]) == (
        "ESH5",
        "IPNT",
        50.0,
        1,
    )
    assert f.filter(pl.col("instrument_id") == 102)["call_put"].to_list() == ["P"]


def test_price_scaling_fixed_and_raw_timestamps(def_df: pd.DataFrame, stat_df: pd.DataFrame) -> None:
    """price_type='fixed' (int64 x 1e-9) and pretty_ts=False (uint64 ns) decode to the same frames."""
    fixed_defs = _to_df(dbn.Schema.DEFINITION, DEFINITION_RECORDS, price_type="fixed", pretty_ts=False)
    assert fixed_defs["strike_price"].dtype == "int64" and fixed_defs["expiration"].dtype == "uint64"
    assert definitions_to_frame(fixed_defs).equals(definitions_to_frame(def_df))
    fixed_stats = _to_df(dbn.Schema.STATISTICS, STATISTIC_RECORDS, price_type="fixed", pretty_ts=False)
    assert statistics_to_frame(fixed_stats, D).equals(statistics_to_frame(stat_df, D))


def test_hand_built_minimal_frame() -> None:
    """Only the needed columns, fixed-point ints, with DBN's undefined sentinels -> NULL."""
    recs = pd.DataFrame(
        {
            "instrument_id": np.array([7, 8], dtype=np.uint32),
            "raw_symbol": ["OZLF6 C5000", "ZLF6"],
            "instrument_class": ["C", "F"],
            "strike_price": np.array([50_000_000_000, dbn.UNDEF_PRICE], dtype=np.int64),  # 50.0 / undefined
            "expiration": np.array([_ns("2025-12-26 18:15"), dbn.UNDEF_TIMESTAMP], dtype=np.uint64),
            "underlying": ["ZLF6", ""],
            "contract_multiplier": np.array([2**31 - 1, 2**31 - 1], dtype=np.int32),
        },
        index=pd.Index(np.array([_ns("2025-11-20") + 1, _ns("2025-11-20") + 2], dtype=np.uint64), name="ts_recv"),
    )
    f = definitions_to_frame(recs)
    # nanoseconds survive (no float64 round trip)
    assert f["ts_recv"].dt.epoch("ns").to_list() == [_ns("2025-11-20") + 1, _ns("2025-11-20") + 2]
    assert f["strike"].to_list() == [50.0, None]
    assert f["expiry"].to_list() == [dt.date(2025, 12, 26), None]
    assert f["call_put"].to_list() == ["C", None] and f["underlying"].to_list() == ["ZLF6", None]
    assert f["contract_multiplier"].to_list() == [None, None]
    with pytest.raises(DataQualityError, match="strike_price"):
        definitions_to_frame(recs.drop(columns=["strike_price"]))


def test_statistics_to_frame(stat_df: pd.DataFrame) -> None:
    s = statistics_to_frame(stat_df, D)
    assert s.schema == STATISTICS
    by = {r["instrument_id"]: r for r in s.iter_rows(named=True)}
    assert (by[101]["oi"], by[101]["oi_ref_date"]) == (1200, dt.date(2025, 2, 28))  # not the Tue-published 1250
    assert (by[101]["settle"], by[101]["settle_final"]) == (45.25, True)  # final beats preliminary
    assert by[102]["settle"] == 38.5  # the later intraday settlement is ignored
    assert by[103]["oi"] == 0  # NEW 500, DELETE, NEW 0
    assert (by[105]["settle"], by[105]["settle_final"]) == (61.0, False)
    assert by[106]["settle"] == 12.05  # ts_ref D, not Friday's 14.0
    assert 999 in by and 104 not in by

    s2 = statistics_to_frame(stat_df, D, oi_timing="trade_date")
    assert s2.filter(pl.col("instrument_id") == 101)["oi"].to_list() == [1250]
    assert s2.filter(pl.col("instrument_id") == 102)["oi"].to_list() == [None]


def test_join_drops_and_front_three(def_df: pd.DataFrame, stat_df: pd.DataFrame) -> None:
    res = join_definitions_statistics(
        definitions_to_frame(def_df),
        statistics_to_frame(stat_df, D),
        symbol="ES",
        date=D,
        multiplier=50.0,
        underlying_price_lookup=_lookup_esh5,
        rate=0.043,
        ingested_at=INGESTED,
    )
    assert isinstance(res, OptionsOiResult) and res.status == "ok"
    assert res.frame.schema == OPTIONS_OI_RAW
    assert set(res.dropped) == set(DROP_REASONS)
    assert res.dropped == {
        "blank_oi": 1,  # 104
        "zero_oi": 1,  # 103
        "expired": 1,  # 108 (expiry == date)
        "malformed": 0,
        "no_underlying_price": 1,  # 109 (ESM5 unknown to the lookup)
        "beyond_front_expiries": 1,  # 107 (4th expiry)
        "rejected_file": 0,
    }
    f = res.frame
    assert f["instrument_id"].to_list() == [101, 102, 105, 106]
    assert f["expiry"].unique().sort().to_list() == [dt.date(2025, 3, 7), dt.date(2025, 3, 14), dt.date(2025, 3, 21)]
    r = f.row(0, named=True)
    assert (r["date"], r["symbol"], r["strike"], r["call_put"], r["oi"], r["settle"]) == (
        D,
        "ES",
        5900.0,
        "C",
        1200,
        45.25,
    )
    assert (r["multiplier"], r["underlying_symbol"], r["underlying_price"]) == (50.0, "ESH5", 5950.25)
    assert (r["option_symbol"], r["implied_vol"], r["ingested_at"]) == ("ESH5 C5900", None, INGESTED)
    assert f["call_put"].to_list() == ["C", "P", "C", "P"]
    assert res.metadata["statistics_without_definition"] == 1
    assert res.metadata["preliminary_settle_rows"] == 1
    assert res.metadata["oi_ref_dates"] == ["2025-02-28"]
    assert res.metadata["expiries_without_underlying_price"] == ["2025-03-14"]


def test_join_statuses_and_bad_prices(def_df: pd.DataFrame, stat_df: pd.DataFrame) -> None:
    defs, stats = definitions_to_frame(def_df), statistics_to_frame(stat_df, D)
    kw = {"symbol": "ES", "date": D, "multiplier": 50.0, "ingested_at": INGESTED}
    none = join_definitions_statistics(defs, stats, underlying_price_lookup=lambda u, d: None, **kw)
    assert none.status == "no_underlying_price" and none.frame.height == 0 and none.dropped["no_underlying_price"] == 5
    no_oi = join_definitions_statistics(defs, stats.head(0), underlying_price_lookup=_lookup_esh5, **kw)
    assert no_oi.status == "oi_not_recorded" and no_oi.dropped["blank_oi"] == 9
    no_opts = join_definitions_statistics(defs.head(0), stats, underlying_price_lookup=_lookup_esh5, **kw)
    assert no_opts.status == "no_options_data" and no_opts.frame.schema == OPTIONS_OI_RAW
    with pytest.raises(DataQualityError, match="same units"):  # e.g. a lookup returning the wrong scale
        join_definitions_statistics(defs, stats, underlying_price_lookup=lambda u, d: 59.5025, **kw)
    with pytest.raises(DataQualityError, match="positive price"):
        join_definitions_statistics(defs, stats, underlying_price_lookup=lambda u, d: -1.0, **kw)


def test_recorded_real_samples(data_root: Path) -> None:
    """The real recorded ESH1 records: a future (no call/put, no strike) and no OI/settlement stats."""
    root = data_root / DBN_DIR
    if not (root / "test_data.definition.dbn.zst").exists():
        pytest.skip("recorded Databento samples not available")
    defs = definitions_to_frame(databento.DBNStore.from_file(root / "test_data.definition.dbn.zst").to_df())
    r = defs.row(0, named=True)
    assert (r["instrument_id"], r["raw_symbol"], r["instrument_class"], r["call_put"]) == (5482, "ESH1", "F", None)
    assert (r["strike"], r["expiry"], r["contract_multiplier"]) == (None, dt.date(2021, 3, 19), None)
    assert (r["unit_of_measure"], r["unit_of_measure_qty"]) == ("IPNT", 50.0)
    stats = statistics_to_frame(
        databento.DBNStore.from_file(root / "test_data.statistics.dbn.zst").to_df(), dt.date(2020, 12, 28)
    )
    assert stats.height == 0 and stats.schema == STATISTICS  # only stat types 5 and 8, ts_ref undefined


def test_futures_settlements_from_frames() -> None:
    defs = definitions_to_frame(
        _to_df(dbn.Schema.DEFINITION, [_definition(5002, "ESH5", dbn.InstrumentClass.FUTURE, 0.0, E3, underlying="")])
    )
    stats = statistics_to_frame(
        _to_df(
            dbn.Schema.STATISTICS, [_stat(5002, SETTLE, MON, "2025-03-03 22:00", price=5950.25, flags=FINAL_ACTUAL)]
        ),
        D,
    )
    assert futures_settlements(defs, stats) == {"ESH5": 5950.25}


def test_futures_settlement_lookup_fetches_once_per_date() -> None:
    fut_defs = _to_df(
        dbn.Schema.DEFINITION, [_definition(5002, "ESH5", dbn.InstrumentClass.FUTURE, 0.0, E3, underlying="")]
    )
    fut_stats = _to_df(
        dbn.Schema.STATISTICS, [_stat(5002, SETTLE, MON, "2025-03-03 22:00", price=5950.25, flags=FINAL_ACTUAL)]
    )
    calls: list[tuple] = []

    def fetch(schema: str, parent: str, start: str, end: str | None) -> pd.DataFrame:
        calls.append((schema, parent, start))
        return fut_defs if schema == "definition" else fut_stats

    lookup = DatabentoOptions("db-key", fetch=fetch).futures_settlement_lookup("ES.FUT")
    assert (lookup("ESH5", D), lookup("ESM5", D)) == (5950.25, None)
    assert calls == [("definition", "ES.FUT", "2025-03-03"), ("statistics", "ES.FUT", "2025-03-03")]


def test_client_end_to_end_with_injected_fetch(def_df: pd.DataFrame, stat_df: pd.DataFrame) -> None:
    calls: list[tuple] = []

    def fetch(schema: str, parent: str, start: str, end: str | None) -> pd.DataFrame:
        calls.append((schema, parent, start, end))
        return def_df if schema == "definition" else stat_df

    client = DatabentoOptions("db-key", fetch=fetch, underlying_price_lookup=_lookup_esh5)
    res = client.oi_raw("ES", D, rate=0.043, ingested_at=INGESTED)
    assert res.status == "ok" and res.frame["instrument_id"].to_list() == [101, 102, 105, 106]
    assert calls == [
        ("definition", "ES.OPT", "2025-03-03", "2025-03-04T00:00:00+00:00"),
        ("statistics", "ES.OPT", "2025-02-27", "2025-03-05T00:00:00+00:00"),
    ]
    assert res.frame["source"].str.contains("databento:GLBX.MDP3 ES.OPT").all()
    assert res.metadata["parent"] == "ES.OPT"

    calls.clear()
    empty = DatabentoOptions("db-key", fetch=lambda *a: calls.append(a) or def_df.head(0))
    got = empty.oi_raw("ZL", D, rate=0.043, underlying_price_lookup=_lookup_esh5)
    assert got.status == "no_options_data" and [c[0] for c in calls] == ["definition"]


# ----------------------------------------------------------------------------- CME EOD file

CME_HEADER = (
    "BizDt,Sym,ID,StrkPx,SecTyp,MMY,MatDt,PutCall,Exch,Desc,LastTrdDt,BidPrice,OpeningPrice,SettlePrice,"
    "SettleDelta,HighLimit,LowLimit,DHighPrice,DLowPrice,HighBid,LowBid,PrevDayVol,PrevDayOI,FixingPrice,"
    "UndlyExch,UndlyID,UndlySecTyp,UndlyMMY,BankBusDay"
)


def _cme_row(sym, strike, sectyp, mmy, matdt, pc, settle, oi, undly_mmy="", biz="2025-11-20"):
    und_type = "FUT" if sectyp == "OOF" else ""
    return (
        f"{biz},{sym},07,{strike},{sectyp},{mmy},{matdt},{pc},CBT,,{matdt},,,{settle},,,,,,,,15,{oi},,"
        f"{'CBT' if undly_mmy else ''},{'07' if undly_mmy else ''},{und_type},{undly_mmy},{biz}"
    )


# Constructed trade date 2025-11-20 (a Thursday). Lines are numbered from 1 = header.
CME_LINES = [
    CME_HEADER,
    _cme_row("ZL", "", "FUT", "202601", "2026-01-14", "", "50.12", "231000"),  # 2: ZLF6 settle
    _cme_row("ZL", "", "FUT", "202603", "2026-03-13", "", "50.40", "142000"),  # 3: ZLH6 settle
    _cme_row("OZL", "50.0", "OOF", "202601", "2025-12-26", "1", "1.85", "1520", "202601"),  # 4
    _cme_row("OZL", "50.0", "OOF", "202601", "2025-12-26", "0", "1.73", "1311", "202601"),  # 5
    _cme_row("OZL", "55.0", "OOF", "202601", "2025-12-26", "1", "0.30", "0", "202601"),  # 6 zero OI
    _cme_row("OZL", "48.0", "OOF", "202602", "2026-01-23", "0", "1.20", "640", "202603"),  # 7
    _cme_row("OZL", "53.0", "OOF", "202602", "2026-01-23", "1", "0.95", "75", "202605"),  # 8 no ZLK6 row
    _cme_row("OZL", "52.0", "OOF", "202603", "2026-02-20", "1", "1.95", "", "202603"),  # 9 blank OI
    _cme_row("OZL", "51.0", "OOF", "202603", "2026-02-20", "1", "2.31", "210", "202603"),  # 10
    _cme_row("OZL", "47.0", "OOF", "202605", "2026-04-24", "0", "1.10", "95", "202605"),  # 11 4th expiry
    _cme_row("OZL", "50.5", "OOF", "202512", "2025-11-20", "1", "0.05", "12", "202601"),  # 12 expires today
    "2025-11-20,OZL,07,49.0,OOF,202601,2025-12-26",  # 13 truncated row
    _cme_row("OZL", "abc", "OOF", "202601", "2025-12-26", "1", "1.00", "5", "202601"),  # 14 bad strike
    _cme_row("ES", "6700", "OOF", "202512", "2025-12-19", "1", "95.25", "4000", "202512"),  # 15 other product
    "",  # 16 blank
    "END OF FILE,15 RECORDS",  # 17 footer
]


@pytest.fixture()
def cme_file(tmp_path: Path) -> Path:
    path = tmp_path / "cbt.settle.s.20251120.csv"
    path.write_text("\n".join(CME_LINES) + "\n")
    return path


def test_cme_file_rows_and_counts(cme_file: Path) -> None:
    res = CmeEodOptionsFile(cme_file).oi_raw("ZL", dt.date(2025, 11, 20), rate=0.04, ingested_at=INGESTED)
    assert res.status == "ok" and res.frame.schema == OPTIONS_OI_RAW
    f = res.frame
    assert f.select("strike", "call_put", "oi", "settle", "underlying_symbol", "underlying_price").rows() == [
        (50.0, "C", 1520, 1.85, "ZLF6", 50.12),
        (50.0, "P", 1311, 1.73, "ZLF6", 50.12),
        (48.0, "P", 640, 1.20, "ZLH6", 50.40),
        (51.0, "C", 210, 2.31, "ZLH6", 50.40),
    ]
    assert f["expiry"].unique().sort().to_list() == [dt.date(2025, 12, 26), dt.date(2026, 1, 23), dt.date(2026, 2, 20)]
    assert f["multiplier"].unique().to_list() == [600.0] and f["symbol"].unique().to_list() == ["ZL"]
    assert f["option_symbol"][0] == "OZL 20251226 C50.0 ZLF6" and f["instrument_id"].null_count() == 4
    assert res.dropped == {
        "blank_oi": 1,  # line 9
        "zero_oi": 1,  # line 6
        "expired": 1,  # line 12
        "malformed": 2,  # line 13 (truncated) + line 14 (strike "abc")
        "no_underlying_price": 1,  # line 8 (no ZLK6 futures row)
        "beyond_front_expiries": 1,  # line 11
        "rejected_file": 0,
    }
    m = res.metadata
    assert m["file_counts"] == {"rows": 13, "blank": 1, "footer": 1, "truncated": 1, "extra_fields": 0}
    assert m["malformed_lines"] == {"footer": [17], "truncated": [13], "unparseable": [14]}
    assert m["underlyings_without_price"] == ["ZLK6"]


def test_cme_file_caller_lookup_and_other_symbols(cme_file: Path) -> None:
    reader = CmeEodOptionsFile(cme_file)
    day = dt.date(2025, 11, 20)
    assert reader.futures_settlements("ZL", day) == {"ZLF6": 50.12, "ZLH6": 50.40}
    got = reader.oi_raw("ZL", day, rate=0.04, underlying_price_lookup=lambda u, d: {"ZLF6": 50.0}.get(u))
    assert got.frame["underlying_symbol"].unique().to_list() == ["ZLF6"] and got.dropped["no_underlying_price"] == 3
    es = reader.oi_raw("ES", day, rate=0.04, underlying_price_lookup=lambda u, d: 6712.5 if u == "ESZ5" else None)
    assert es.status == "ok" and es.frame.select("strike", "oi", "multiplier").rows() == [(6700.0, 4000, 50.0)]
    assert es.dropped["malformed"] == 0  # the truncated row is OZL's
    assert reader.oi_raw("ZL", dt.date(2025, 11, 21), rate=0.04).status == "no_options_data"


def test_cme_file_missing_header(tmp_path: Path) -> None:
    path = tmp_path / "no_oi.csv"
    lines = [line.replace(",PrevDayOI,", ",OpenInt,") for line in CME_LINES[:5]]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataQualityError, match=r"missing required header\(s\) \['PrevDayOI'\]"):
        CmeEodOptionsFile(path).oi_raw("ZL", dt.date(2025, 11, 20), rate=0.04)
    # the mapping is adjustable: point "oi" at the header the file has
    res = CmeEodOptionsFile(path, columns={**CME_EOD_COLUMNS, "oi": "OpenInt"}).oi_raw(
        "ZL", dt.date(2025, 11, 20), rate=0.04
    )
    assert res.status == "ok" and res.frame["oi"].to_list() == [1520, 1311]


def test_cme_file_duplicate_contract_raises(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([*CME_LINES[:5], CME_LINES[4]]) + "\n")
    with pytest.raises(DataQualityError, match="duplicated option contracts"):
        CmeEodOptionsFile(path).oi_raw("ZL", dt.date(2025, 11, 20), rate=0.04)
