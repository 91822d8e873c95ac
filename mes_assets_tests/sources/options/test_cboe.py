"""Cboe quotedata chains: parsed and dated as the data README measured them (independent figures:
its per-file open-interest totals, strike-row counts and trade days), and bad chains refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas_market_calendars as pmc
import polars as pl
import pytest

from mes_assets.gamma.forward import parity_forward
from mes_assets.sources.errors import DataQualityError
from mes_assets.sources.options.cboe import CboeReplayOptions, chain_trade_date, read_cboe_quotedata
from mes_assets.sources.options.records import FirstUsableOptions
from mes_assets.sources.options.replay import ReplayOptions

D = dt.date
NYSE = [d.date() for d in pmc.get_calendar("NYSE").valid_days("2022-11-01", "2025-12-31")]


def nyse(first: dt.date, last: dt.date) -> list[dt.date]:
    return [d for d in NYSE if first <= d <= last]


@pytest.fixture(scope="module")
def chains_dir(data_root: Path) -> Path:
    folder = data_root / "options" / "cboe_quotedata"
    if not folder.is_dir():
        pytest.skip(f"no Cboe chains under {data_root}")
    return folder


# (file, underlying, trade day, strike rows, call OI, put OI): ../shared/data/README.md "Third pass"
README_FIGURES = [
    ("spx_quotedata_2023-02-03_ching08.csv", "SPX", D(2023, 2, 3), 3404, 1311996, 2749045),
    ("spx_quotedata_2023-02-07_abasuray.csv", "SPX", D(2023, 2, 7), 9481, 5888981, 10651361),
    ("spx_quotedata_2023-05-06hdr_ayour.csv", "SPX", D(2023, 5, 5), 8680, 5994273, 11690716),  # Saturday save
    ("spx_quotedata_2023-05-20hdr_ayour.csv", "SPX", D(2023, 5, 19), 8963, 6684132, 13316773),  # Saturday save
    ("spx_quotedata_2023-09-04_carlosjimenezdiaz.csv", "SPX", D(2023, 9, 1), 9579, 6337549, 12970968),  # Labor Day
    ("spy_quotedata_2023-04-11_misnamed_spx_ayour.csv", "SPY", D(2023, 4, 11), 3849, 6594351, 13288507),
    ("spy_quotedata_2023-06-04hdr_ayour.csv", "SPY", D(2023, 6, 2), 3843, 6477830, 12624468),  # broken header
    ("xsp_quotedata_2023-09-14_carlosjimenezdiaz.csv", "XSP", D(2023, 9, 14), 5441, 114267, 390265),
]


@pytest.mark.parametrize(("name", "underlying", "day", "strikes", "call_oi", "put_oi"), README_FIGURES)
def test_recorded_chains_parse_to_the_readme_figures(chains_dir, name, underlying, day, strikes, call_oi, put_oi):
    chain = read_cboe_quotedata(chains_dir / name, NYSE)
    rows = chain.rows
    assert chain.underlying == underlying  # from line 2, not from the file name (the misnamed SPY file)
    assert chain.trade_date == day
    assert rows.height == 2 * strikes and chain.malformed_lines == []
    assert rows.filter(pl.col("call_put") == "C")["oi"].sum() == call_oi
    assert rows.filter(pl.col("call_put") == "P")["oi"].sum() == put_oi


def test_a_price_is_the_mid_else_the_last_sale_never_the_iv_column(chains_dir):
    chain = read_cboe_quotedata(chains_dir / "spx_quotedata_2023-02-07_abasuray.csv", NYSE)
    # line 5: call bid 3156.3 ask 3180.3 -> mid 3168.3; put bid 0, ask 0.05, last 0 -> no price
    first = chain.rows.filter(pl.col("line") == 5).sort("call_put")
    assert first["settle"].to_list() == [pytest.approx(3168.3), None]
    # 2023-04-05: bid and ask are 0 on almost every row (README quirk; measured: 469 of 18,420 quoted),
    # so the last sale prices the rest
    rows = read_cboe_quotedata(chains_dir / "spx_quotedata_2023-04-05_ayour.csv", NYSE).rows
    quoted = (pl.col("bid") > 0) & (pl.col("ask") > 0)
    assert rows.filter(quoted).height == 469
    by_last = rows.filter(~quoted & (pl.col("last") > 0))
    assert by_last.height > 10_000 and (by_last["settle"] == by_last["last"]).all()
    assert (
        rows.filter(~quoted & ~(pl.col("last") > 0))["settle"].null_count()
        == rows.filter(~quoted & ~(pl.col("last") > 0)).height
    )


def test_an_intraday_download_is_labelled_so(chains_dir):
    chain = read_cboe_quotedata(chains_dir / "spx_quotedata_2023-06-09_intraday_ayour.csv", NYSE)
    assert chain.intraday and chain.header_time == dt.time(13, 40) and chain.trade_date == D(2023, 6, 9)


def test_the_trade_day_rule_trusts_the_body_over_the_header():
    sessions = nyse(D(2023, 4, 1), D(2023, 5, 31))
    # header later than the first expiry (a hand-edited Date line): the body's day
    day, rule = chain_trade_date(D(2023, 5, 20), D(2023, 5, 10), sessions)
    assert day == D(2023, 5, 10) and "body trusted" in rule
    # a Sunday save before a Monday expiry: Friday's close
    assert chain_trade_date(D(2023, 4, 16), D(2023, 4, 17), sessions)[0] == D(2023, 4, 14)
    # no readable header: the last session strictly before the first expiry
    assert chain_trade_date(None, D(2023, 5, 30), sessions)[0] == D(2023, 5, 26)  # Memorial Day in between
    with pytest.raises(DataQualityError, match="no exchange session"):
        chain_trade_date(D(2023, 4, 3), D(2023, 4, 3), nyse(D(2023, 5, 1), D(2023, 5, 31)))


def test_a_chain_whose_header_date_disagrees_with_its_expirations(chains_dir, tmp_path):
    text = (chains_dir / "spx_quotedata_2023-02-07_abasuray.csv").read_text()
    edited = tmp_path / "spx_quotedata_edited.csv"
    edited.write_text(text.replace("February 7, 2023 at 5:34 PM EST", "February 21, 2023 at 5:34 PM EST"))
    chain = read_cboe_quotedata(edited, NYSE)
    assert chain.header_date == D(2023, 2, 21) and chain.trade_date == D(2023, 2, 7)
    assert "body trusted" in chain.date_rule


def test_malformed_chains_are_refused_naming_file_and_line(chains_dir, tmp_path):
    lines = (chains_dir / "spx_quotedata_2023-02-03_ching08.csv").read_text().splitlines()
    bad_header = tmp_path / "bad_header.csv"
    bad_header.write_text("\n".join([*lines[:3], lines[3].replace("Open Interest", "OI", 1), *lines[4:8]]))
    with pytest.raises(DataQualityError, match=r"bad_header.csv:4: unexpected column header"):
        read_cboe_quotedata(bad_header, NYSE)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("\n".join([lines[0], "Nikkei 225,Last: 1,Change: 0", *lines[2:8]]))
    with pytest.raises(DataQualityError, match=r"unknown.csv:2: unknown underlying"):
        read_cboe_quotedata(unknown, NYSE)
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join([*lines[:6], lines[5]]))
    with pytest.raises(DataQualityError, match=r"twice.csv:6: contract SPXW230203C01200000 listed twice"):
        read_cboe_quotedata(twice, NYSE)
    short = tmp_path / "short.csv"
    short.write_text("\n".join([*lines[:6], lines[6].rsplit(",", 3)[0]]))
    assert read_cboe_quotedata(short, NYSE).malformed_lines == [7]


def test_the_replay_source_serves_mes_from_spx_chains_with_parity_forwards(data_root, chains_dir):
    source = CboeReplayOptions(data_root, forward=parity_forward, sessions=nyse)
    assert D(2023, 2, 7) in source.recorded_dates("MES") and source.recorded_dates("ZL") == []
    got = source.oi_raw("MES", D(2023, 2, 7), rate=0.045)
    assert got.status == "ok"
    frame = got.frame
    assert sorted(set(frame["expiry"])) == [D(2023, 2, 8), D(2023, 2, 9), D(2023, 2, 10)]  # front three after the day
    assert (frame["oi"] > 0).all() and (frame["multiplier"] == 100.0).all()
    assert set(frame["underlying_symbol"]) == {"SPX"} and frame["source"].str.contains("STAND-IN").all()
    # the forward of each expiry reproduces from its own call/put pair (independent arithmetic)
    chain = read_cboe_quotedata(chains_dir / "spx_quotedata_2023-02-07_abasuray.csv", NYSE)
    for expiry in (D(2023, 2, 8), D(2023, 2, 10)):
        rows = chain.rows.filter((pl.col("expiry") == expiry) & pl.col("settle").is_not_null())
        calls = dict(rows.filter(pl.col("call_put") == "C").select("strike", "settle").iter_rows())
        puts = dict(rows.filter(pl.col("call_put") == "P").select("strike", "settle").iter_rows())
        k = min(set(calls) & set(puts), key=lambda s: (abs(calls[s] - puts[s]), s))
        import math

        expected = k + math.exp(0.045 * (expiry - D(2023, 2, 7)).days / 365.0) * (calls[k] - puts[k])
        assert frame.filter(pl.col("expiry") == expiry)["underlying_price"][0] == pytest.approx(expected, rel=1e-12)
    assert source.oi_raw("ZL", D(2023, 2, 7), rate=0.04).status == "no_options_data"


def test_a_chain_with_no_open_interest_says_so(chains_dir, tmp_path):
    lines = (chains_dir / "spx_quotedata_2023-02-03_ching08.csv").read_text().splitlines()
    body = []
    for line in lines[4:40]:
        cells = line.split(",")
        cells[10], cells[21] = "0", "0"
        body.append(",".join(cells))
    folder = tmp_path / "options" / "cboe_quotedata"
    folder.mkdir(parents=True)
    (folder / "spx_quotedata_zero_oi.csv").write_text("\n".join([*lines[:4], *body]))
    got = CboeReplayOptions(tmp_path, forward=parity_forward, sessions=nyse).oi_raw("MES", D(2023, 2, 3), rate=0.04)
    assert got.status == "no_open_interest" and got.frame.height == 0 and got.dropped["zero_oi"] == 2 * 36


def test_lean_records_win_and_cboe_fills_the_dates_lean_lacks(data_root, chains_dir):
    both = FirstUsableOptions(
        [
            ReplayOptions(data_root, forward=parity_forward),
            CboeReplayOptions(data_root, forward=parity_forward, sessions=nyse),
        ]
    )
    assert both.oi_raw("MES", D(2023, 6, 23), rate=0.05).frame["source"][0].startswith("lean:")
    assert both.oi_raw("MES", D(2023, 9, 1), rate=0.05).frame["source"][0].startswith("cboe:")
    none = both.oi_raw("MES", D(2023, 3, 9), rate=0.05)
    assert none.status == "no_options_data" and [t["status"] for t in none.metadata["tried"]] == ["no_options_data"] * 2
