"""Options OI replay on the REAL recorded Lean option files (hand-checked rows, drop counts, statuses)."""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from mes_assets.gamma.forward import parity_forward
from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.options.records import DROP_REASONS
from mes_assets.sources.options.replay import ReplayOptions
from mes_assets.sources.schemas import OPTIONS_OI_RAW
from mes_assets.warehouse.sql_files import declared_columns, load_sql_files

RATE = 0.01  # continuously compounded; only enters the parity forward
STAMP = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
SPX = "options/lean_indexoption_spx"
SPXW = "options/lean_indexoption_spxw"
BQ_TO_POLARS = {
    "DATE": pl.Date,
    "STRING": pl.Utf8,
    "FLOAT64": pl.Float64,
    "INT64": pl.Int64,
    "TIMESTAMP": pl.Datetime("us", "UTC"),
    "ARRAY<FLOAT64>": pl.List(pl.Float64),
}


def ddl_schema(name: str) -> pl.Schema:
    sql = next(f for f in load_sql_files() if f.qualified_name == f"derivatives.{name}")
    return pl.Schema({col: BQ_TO_POLARS[kind] for col, kind in declared_columns(sql)})


@pytest.fixture(scope="module")
def root(data_root) -> Path:
    if not (Path(data_root) / SPX).is_dir():
        pytest.skip(f"no recorded option files under {data_root} (vendored sample has none)")
    return Path(data_root)


@pytest.fixture(scope="module")
def replay(root) -> ReplayOptions:
    return ReplayOptions(root, forward=parity_forward)


def raw_rows(path: Path) -> list[dict[str, str]]:
    """The file's option rows, parsed independently with the csv module."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["#expiry"].strip()]


def test_schema_is_the_ddl():
    assert OPTIONS_OI_RAW == ddl_schema("options_oi_raw")


def test_statuses_of_every_recorded_date(replay):
    got = {d: replay.oi_raw("MES", d, rate=RATE, ingested_at=STAMP).status for d in replay.recorded_dates("MES")}
    ok = {d for d, s in got.items() if s == "ok"}
    assert ok == {dt.date(2015, 12, 22), dt.date(2015, 12, 23), dt.date(2021, 1, 4), dt.date(2023, 6, 23)}
    # vendor forward-filled OI (README: OI only printed 20210104 / 20210114)
    for d in [dt.date(2020, 12, 30), dt.date(2020, 12, 31), *[dt.date(2021, 1, x) for x in (5, 6, 7, 8, 11, 12, 13)]]:
        assert got[d] == "oi_not_recorded", d
    assert got[dt.date(2021, 1, 14)] == "stale_option_prices"  # README: 20210114 = 20210113 with volume 0
    for d in [dt.date(2020, 1, x) for x in (2, 3, 6, 7, 8)]:
        assert got[d] == "no_open_interest", d  # ES futures options: OI column empty
    assert replay.oi_raw("MES", dt.date(2019, 6, 3), rate=RATE).status == "no_options_data"


def test_zl_has_no_options_data(replay):
    res = replay.oi_raw("ZL", dt.date(2015, 12, 22), rate=RATE)
    assert res.status == "no_options_data" and res.frame.height == 0
    assert res.frame.schema == OPTIONS_OI_RAW
    assert "ZL" in str(res.metadata["reason"])
    with pytest.raises(ValueError, match="unsupported symbol"):
        replay.oi_raw("CL", dt.date(2015, 12, 22), rate=RATE)


def test_hand_checked_row_2015_12_22(replay, root):
    # raw line: 20160115,2160,C,0.5250,0.9000,0.4750,0.5750,280,11869,...
    res = replay.oi_raw("MES", dt.date(2015, 12, 22), rate=RATE, ingested_at=STAMP)
    row = res.frame.filter(
        (pl.col("strike") == 2160.0) & (pl.col("call_put") == "C") & (pl.col("expiry") == dt.date(2016, 1, 15))
    )
    assert row.height == 1
    r = row.row(0, named=True)
    assert (r["oi"], r["settle"], r["multiplier"], r["underlying_symbol"]) == (11869, 0.575, 100.0, "SPX")
    assert r["option_symbol"] == "SPX   160115C02160000"
    assert r["implied_vol"] is None and r["instrument_id"] is None and r["ingested_at"] == STAMP
    assert "STAND-IN" in r["source"] and "20151222.csv" in r["source"]
    # no underlying row in the file: put-call-parity forward at the strike with the smallest
    # |C - P| (raw: 975 C close 1064.1, 975 P close 0.05), computed here by hand
    t = (dt.date(2016, 1, 15) - dt.date(2015, 12, 22)).days / 365.0
    assert r["underlying_price"] == pytest.approx(975 + math.exp(RATE * t) * (1064.1 - 0.05), abs=1e-9)
    assert res.metadata["stand_in"].startswith("Cboe SPX index options")
    assert "NOT applied" in res.metadata["price_scale"]


def test_every_kept_row_matches_the_raw_file(replay, root):
    for day, rel in [(dt.date(2015, 12, 23), f"{SPX}/20151223.csv"), (dt.date(2023, 6, 23), f"{SPXW}/20230623.csv")]:
        raw = {
            (dt.datetime.strptime(r["#expiry"], "%Y%m%d").date(), float(r["strike"]), r["right"]): r
            for r in raw_rows(root / rel)
        }
        frame = replay.oi_raw("ES", day, rate=RATE).frame
        assert frame.height > 0 and (frame["symbol"] == "ES").all() and (frame["date"] == day).all()
        for e, k, cp, oi, settle in frame.select("expiry", "strike", "call_put", "oi", "settle").iter_rows():
            src = raw[(e, k, cp)]
            assert oi == int(src["open_interest"]) and settle == float(src["close"])
            assert e > day


def test_spxw_2023_06_23(replay):
    res = replay.oi_raw("MES", dt.date(2023, 6, 23), rate=RATE)
    f = res.frame
    assert f.height == 12 and sorted(set(f["expiry"].to_list())) == [dt.date(2023, 6, 30), dt.date(2023, 7, 3)]
    r = f.filter(
        (pl.col("strike") == 4450.0) & (pl.col("call_put") == "C") & (pl.col("expiry") == dt.date(2023, 6, 30))
    ).row(0, named=True)
    assert (r["oi"], r["settle"], r["option_symbol"]) == (11430, 1.15, "SPXW  230630C04450000")
    # parity at K=4440 (|C - P| smallest: C 1.70, P 90.15), within carry of the recorded close 4348.23
    t = 7 / 365.0
    assert r["underlying_price"] == pytest.approx(4440 + math.exp(RATE * t) * (1.7 - 90.15), abs=1e-9)
    assert abs(math.log(r["underlying_price"] / 4348.23)) < 0.002


def test_spx_2021_01_04_uses_recorded_close_and_zip_oi(replay, root):
    res = replay.oi_raw("MES", dt.date(2021, 1, 4), rate=RATE)
    f = res.frame
    assert f.height == 6
    # the file's underlying row close is the SPX close 3700.65; the parity forward from the
    # deep-ITM 3200 call's last trade (3728) is rejected as stale
    assert (f["underlying_price"] == 3700.65).all()
    assert "rejected" in next(iter(res.metadata["underlying_method"].values()))
    with zipfile.ZipFile(root / SPX / "spx_2021_openinterest_european.zip") as zf:
        prints = {}
        for name in zf.namelist():
            right = "C" if "_call_" in name else "P"
            strike = int(name.split("_")[4]) / 10000.0
            first = zf.read(name).decode().splitlines()[0]  # "20210104 00:00,<OI>"
            assert first.startswith("20210104")
            prints[(right, strike)] = int(first.split(",")[1])
    assert {(cp, k): oi for cp, k, oi in f.select("call_put", "strike", "oi").iter_rows()} == prints


def test_drop_counts_add_up(replay, root):
    for day, n_blank in [(dt.date(2015, 12, 22), 55), (dt.date(2015, 12, 23), 89)]:
        raw = raw_rows(root / SPX / f"{day:%Y%m%d}.csv")
        res = replay.oi_raw("MES", day, rate=RATE)
        assert set(res.dropped) == set(DROP_REASONS)
        assert res.dropped["blank_oi"] == n_blank == sum(1 for r in raw if not r["open_interest"].strip())
        assert res.dropped["zero_oi"] == sum(1 for r in raw if r["open_interest"].strip() == "0") == 0
        assert res.dropped["expired"] == 0 and res.dropped["malformed"] == 0
        assert sum(res.dropped.values()) + res.frame.height == len(raw)
        assert res.frame["expiry"].n_unique() <= 3
    # 2015-12-22: March/April 2016 have no call/put pair (no forward): dropped, not replaced
    res = replay.oi_raw("MES", dt.date(2015, 12, 22), rate=RATE)
    assert res.metadata["expiries_without_underlying_price"] == ["2016-03-18"]
    assert res.dropped["no_underlying_price"] == 27


def test_expired_series_are_dropped(root, tmp_path):
    # the real 20151223 file replayed as if recorded on 2016-01-15: every 2016-01-15 series has
    # expired (expiry <= date) and must be dropped and counted
    dst = tmp_path / SPX
    dst.mkdir(parents=True)
    shutil.copyfile(root / SPX / "20151223.csv", dst / "20160115.csv")
    raw = raw_rows(dst / "20160115.csv")
    res = ReplayOptions(tmp_path, forward=parity_forward).oi_raw("MES", dt.date(2016, 1, 15), rate=RATE)
    n_expired = sum(1 for r in raw if r["#expiry"] == "20160115" and r["open_interest"].strip() not in ("", "0"))
    assert n_expired > 0 and res.dropped["expired"] == n_expired
    assert (res.frame["expiry"] > dt.date(2016, 1, 15)).all()
    assert sum(res.dropped.values()) + res.frame.height == len(raw)


def test_malformed_and_zero_oi_rows_are_counted(root, tmp_path):
    # parser fixture (never stored): real lines of 20230623.csv, three of them altered to break
    # one rule each; the file is read only to exercise the drop accounting
    lines = (root / SPXW / "20230623.csv").read_text().splitlines()
    lines[2] = lines[2].replace("20230630,4440,C", "2023063X,4440,C")  # unparseable expiry
    lines[3] = lines[3].replace(",881,819,", ",881,-3,")  # negative OI
    lines[4] = lines[4].replace(",5880,11430,", ",5880,0,")  # zero OI
    dst = tmp_path / SPXW
    dst.mkdir(parents=True)
    (dst / "20230623.csv").write_text("\n".join(lines) + "\n")
    res = ReplayOptions(tmp_path, forward=parity_forward).oi_raw("MES", dt.date(2023, 6, 23), rate=RATE)
    assert res.dropped["malformed"] == 2 and res.dropped["zero_oi"] == 1
    assert res.metadata["malformed_lines"] == {f"{SPXW}/20230623.csv": [3, 4]}
    assert res.frame.height == 9


def test_bad_header_and_duplicates_raise(root, tmp_path):
    dst = tmp_path / SPXW
    dst.mkdir(parents=True)
    lines = (root / SPXW / "20230623.csv").read_text().splitlines()
    (dst / "20230623.csv").write_text("\n".join([lines[0], *lines[1:], lines[2]]) + "\n")
    with pytest.raises(DataQualityError, match="duplicated contracts"):
        ReplayOptions(tmp_path, forward=parity_forward).oi_raw("MES", dt.date(2023, 6, 23), rate=RATE)
    (dst / "20230623.csv").write_text("\n".join([lines[0].replace("#expiry", "expiry"), *lines[1:]]) + "\n")
    with pytest.raises(DataQualityError, match="unexpected header"):
        ReplayOptions(tmp_path, forward=parity_forward).oi_raw("MES", dt.date(2023, 6, 23), rate=RATE)
    (dst / "20230623.csv").write_text("\n".join(["#expiry,strike,right", *lines[1:]]) + "\n")
    with pytest.raises(DataQualityError, match="unreadable csv"):
        ReplayOptions(tmp_path, forward=parity_forward).oi_raw("MES", dt.date(2023, 6, 23), rate=RATE)


def test_frames_carry_the_requested_symbol(replay):
    for sym in ("MES", "ES"):
        f = replay.oi_raw(sym, dt.date(2015, 12, 23), rate=RATE).frame
        assert f.height and f["symbol"].unique().to_list() == [sym]
