"""zigzag_confirmation_sensor replayed on one real day of ES 1-minute bars (ES proxy for MES).

The day's minutes are written to the private warehouse one at a time, as if they arrived live,
and the sensor is evaluated after each. RunRequests must appear exactly at the minute that
completes a 5-minute bar on which the kernel, run over the whole day at once, confirms a pivot.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import numpy as np
import polars as pl
import pytest

from mes_assets.defs.sensors import SENSOR_NAME
from mes_assets.instruments import MES, ZL
from mes_assets.kernels.atr import wilder_atr
from mes_assets.kernels.zigzag import zigzag
from mes_assets.levels.fibonacci import RTH_BARS_SQL, segment_bounds
from mes_assets.market.bars import assign_minute_bars_to_sessions, minute_bars_table_frame
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources.errors import SourceUnavailableError
from mes_assets.sources.replay import ReplayMarketData
from mes_assets.warehouse.sql_files import read_sql
from mes_assets_tests.conftest import run_job

HISTORY = (dt.date(2023, 3, 8), dt.date(2023, 3, 13))
DAY = dt.date(2023, 3, 14)
MINUTE = dt.timedelta(minutes=1)
UTC = dt.UTC


def _day_minutes(data_root, sessions: pl.DataFrame) -> pl.DataFrame:
    raw = ReplayMarketData(data_root).minute_bars("MES", sessions["session_open"][0], sessions["session_close"][0])
    tagged, outside = assign_minute_bars_to_sessions(raw, sessions)
    assert outside.is_empty()
    return minute_bars_table_frame(MES, tagged, dt.datetime(2023, 3, 14, tzinfo=UTC))


def _oracle(warehouse) -> list[tuple[dt.datetime, dt.datetime]]:
    """(pivot bar close, confirming bar close) of the pivots confirmed on DAY: one kernel run."""
    params = {"symbol": "MES", "start_date": MES.history_start, "end_date": DAY}
    bars = warehouse.read(read_sql(RTH_BARS_SQL["5m"]), params).sort("bar_end")
    sessions = exchange_sessions(MES, MES.history_start, DAY)["date"].to_list()
    assert segment_bounds(bars["date"].to_list(), sessions) == [(0, bars.height)]  # no hole
    h, l, c = (bars[x].to_numpy().astype(np.float64) for x in ("high", "low", "close"))
    pivots, _ = zigzag(c, wilder_atr(h, l, c, MES.atr_period), MES.zigzag_k)
    ends, dates = bars["bar_end"].to_list(), bars["date"].to_list()
    return [
        (ends[p], ends[k]) for p, k in zip(pivots.pivot_index, pivots.confirm_index, strict=True) if dates[k] == DAY
    ]


@pytest.mark.slow
def test_run_requests_appear_exactly_at_confirming_bars(definitions, resources, data_root):
    run_job(definitions, "mes_job", *HISTORY)
    run_job(definitions, "mes_job", DAY, DAY, assets=["mes/exchange_sessions"])
    warehouse = resources["private_warehouse"].get_backend()
    sessions = warehouse.read("SELECT * FROM dim.exchange_sessions WHERE date = @d", {"d": DAY})
    minutes = _day_minutes(data_root, sessions)
    rth_open = sessions["rth_open"][0]
    sensor = definitions.resolve_sensor_def(SENSOR_NAME)

    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor):
        return sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance))

    first = tick(None)  # initialises from the recorded history, requests nothing
    assert not first.run_requests and "initialised" in first.skip_reason.skip_message
    cursor = first.cursor
    assert json.loads(cursor)["MES"]["last_bar_end"].startswith("2023-03-13T20:00")

    overnight = minutes.filter(pl.col("ts_event") < rth_open)
    warehouse.replace_slice(MES.bar_table, overnight, start=DAY, end=DAY, symbol="MES")
    assert not tick(cursor).run_requests  # overnight bars are not RTH: nothing to confirm

    seen: list[tuple[dt.datetime, dg.RunRequest]] = []
    fib_rows: list[dict] = []
    rth = minutes.filter(pl.col("ts_event") >= rth_open)
    for i in range(rth.height):
        arrived = pl.concat([overnight, rth.head(i + 1)])
        warehouse.replace_slice(MES.bar_table, arrived, start=DAY, end=DAY, symbol="MES")
        result = tick(cursor)
        cursor = result.cursor
        for request in result.run_requests or []:
            seen.append((rth["ts_event"][i], request))
            # the intraday refresh the request asks for: that session's fib partition
            run_job(definitions, "mes_job", DAY, DAY, assets=["mes/fib_levels"])
            stored = warehouse.read("SELECT * FROM signals.fib_levels WHERE date = @d", {"d": DAY})
            assert stored.height == 1  # a later confirmation replaces, never duplicates
            fib_rows.append(stored.row(0, named=True))

    expected = _oracle(warehouse)
    assert expected, "the chosen day must confirm at least one pivot for this test to bite"
    got = [
        (
            dt.datetime.fromisoformat(r.tags["zigzag/pivot"].split(" at ")[1]),
            dt.datetime.fromisoformat(r.tags["zigzag/confirmed_at"]),
        )
        for _, r in seen
    ]
    assert got == expected
    for (arrival, request), (pivot_end, confirm_end) in zip(seen, expected, strict=True):
        # requested on the minute that completed the confirming 5-minute bar, not before or after
        assert arrival + MINUTE == confirm_end
        assert request.partition_key == DAY.isoformat()
        assert request.run_key == f"MES:{pivot_end.isoformat()}"
        # that session's fib levels and what is computed from them per session
        assert request.asset_selection == [dg.AssetKey(["mes", "fib_levels"]), dg.AssetKey(["mes", "mc_touches"])]
    for row, (pivot_end, confirm_end) in zip(fib_rows, expected, strict=True):
        assert row["leg_end_time"] == pivot_end and row["confirmed_at"] == confirm_end
    # a provisional extreme never triggers: a request per confirmation, none for other minutes
    assert len(seen) == len(expected) < rth.height // 5

    # re-evaluating the last tick (same cursor, nothing new) skips and says what it read
    again = tick(cursor)
    assert not again.run_requests and "0 new bar(s)" in again.skip_reason.skip_message


@pytest.mark.slow
def test_zl_daily_bars_trigger_on_the_confirming_session_and_cursor_survives_restart(
    definitions, resources, monkeypatch
):
    # History through 2025-05-30 is ingested; then real ZLZ25 sessions arrive one per tick.
    run_job(
        definitions,
        "zl_job",
        dt.date(2021, 12, 15),
        dt.date(2025, 8, 29),
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d"],
    )
    warehouse = resources["warehouse"].get_backend()
    table = "market_data.databento_futures_ohlcv_1d"
    recorded = warehouse.read(f"SELECT * FROM {table} ORDER BY date")
    live = recorded.filter(pl.col("date") > dt.date(2025, 5, 30))
    warehouse.replace_slice(table, pl.DataFrame(), start=live["date"].min(), end=dt.date(2025, 8, 29), symbol="ZL")
    sensor = definitions.resolve_sensor_def(SENSOR_NAME)
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor):
        return sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance))

    cursor = tick(None).cursor
    requested: dict[dt.date, list[dg.RunRequest]] = {}
    for day in live["date"].to_list():
        one = live.filter(pl.col("date") == day)
        warehouse.replace_slice(table, one, start=day, end=day, symbol="ZL")
        if day == dt.date(2025, 8, 7):
            # the source is down for one tick: the evaluation fails and Dagster keeps the cursor
            def down(*args, **kwargs):
                raise SourceUnavailableError("warehouse unreachable (simulated outage)")

            with monkeypatch.context() as patch:
                patch.setattr("mes_assets.defs.sensors.step_instrument", down)
                with pytest.raises(Exception, match="simulated outage"):
                    tick(cursor)
            # a duplicate evaluation from the same cursor asks for the same run keys, so Dagster
            # (which launches a run_key once) starts nothing twice
            duplicate = tick(cursor)
            assert [r.run_key for r in duplicate.run_requests] == [r.run_key for r in tick(cursor).run_requests]
        # each tick starts from the stored JSON text only, as after a daemon restart
        result = tick(cursor)
        cursor = result.cursor
        if result.run_requests:
            requested[day] = [r for r in result.run_requests]

    # oracle: one kernel pass over all recorded bars, pivots confirmed in the live window
    bars = recorded.sort("date")
    h, l, c = (bars[x].to_numpy().astype(np.float64) for x in ("high", "low", "close"))
    pivots, _ = zigzag(c, wilder_atr(h, l, c, ZL.atr_period), ZL.zigzag_k)
    dates = bars["date"].to_list()
    expected = {
        dates[k]: dates[p]
        for p, k in zip(pivots.pivot_index, pivots.confirm_index, strict=True)
        if dates[k] > dt.date(2025, 5, 30)
    }
    assert set(requested) == set(expected)
    # the hand-checked leg: the 2025-07-29 high (56.78) is confirmed on 2025-08-07
    assert expected[dt.date(2025, 8, 7)] == dt.date(2025, 7, 29)
    (request,) = requested[dt.date(2025, 8, 7)]
    assert request.partition_key == "2025-08-07" and "high 56.78" in request.tags["zigzag/pivot"]
    assert request.run_key.startswith("ZL:2025-07-29")
