"""Atomicity under a hard kill: a process SIGKILLed in the middle of a partition write (after its
DELETE, before COMMIT) leaves the previous partition intact; re-running converges to the new rows.

The rows are the REAL ES-proxy minute bars of 2023-03-13 and 2023-03-14 (vendored sample). The
writer runs in a child process whose connection pauses right after the DELETE and tells the test,
which then kills it with SIGKILL — no clean-up code of ours runs, as when a worker dies.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import load_sql_files

TABLE = "market_data.databento_futures_ohlcv_1m"
DAY = dt.date(2023, 3, 13)

CHILD = textwrap.dedent(
    """
    import contextlib, sys, time
    import polars as pl
    from mes_assets.warehouse.duckdb_backend import DuckDBBackend

    db, parquet, flag = sys.argv[1:4]
    backend = DuckDBBackend(db)
    original = backend.connect

    class PauseAfterDelete:
        def __init__(self, con):
            self._con = con
        def execute(self, sql, *args):
            result = self._con.execute(sql, *args)
            if sql.lstrip().upper().startswith("DELETE"):
                open(flag, "w").write("deleted")
                time.sleep(600)  # killed here, inside the open transaction
            return result
        def __getattr__(self, name):
            return getattr(self._con, name)

    @contextlib.contextmanager
    def paused():
        with original() as con:
            yield PauseAfterDelete(con)

    backend.connect = paused
    frame = pl.read_parquet(parquet)
    backend.replace_slice("market_data.databento_futures_ohlcv_1m", frame,
                          start=frame["date"].min(), end=frame["date"].max(), symbol="MES")
    """
)


@pytest.fixture()
def minute_rows(data_root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    from mes_assets.instruments import MES
    from mes_assets.market.bars import assign_minute_bars_to_sessions, minute_bars_table_frame
    from mes_assets.market.calendars import exchange_sessions
    from mes_assets.sources.replay import ReplayMarketData

    sessions = exchange_sessions(MES, DAY, DAY)
    raw = ReplayMarketData(data_root).minute_bars("MES", sessions["session_open"][0], sessions["session_close"][0])
    tagged, outside = assign_minute_bars_to_sessions(raw, sessions)
    assert outside.is_empty()
    table = minute_bars_table_frame(MES, tagged, dt.datetime(2023, 3, 14, tzinfo=dt.UTC))
    return table.head(600), table  # previous partition (a partial day), the full day that replaces it


def test_sigkill_between_delete_and_commit_keeps_the_previous_partition(tmp_path, minute_rows):
    previous, replacement = minute_rows
    backend = DuckDBBackend(tmp_path / "private.duckdb")
    backend.apply_sql(load_sql_files())
    backend.replace_slice(TABLE, previous, start=DAY, end=DAY, symbol="MES")
    parquet, flag = tmp_path / "replacement.parquet", tmp_path / "deleted.flag"
    replacement.write_parquet(parquet)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(backend.path), str(parquet), str(flag)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    deadline = time.monotonic() + 120
    while not flag.exists():
        assert child.poll() is None, "the writer exited before reaching its DELETE"
        assert time.monotonic() < deadline, "the writer never reached its DELETE"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    stored = backend.read(f"SELECT * FROM {TABLE} ORDER BY ts_event")
    assert stored.height == previous.height  # the uncommitted DELETE was not kept
    assert stored["ts_event"].to_list() == previous.sort("ts_event")["ts_event"].to_list()
    # re-running converges to exactly the new rows, once
    backend.replace_slice(TABLE, replacement, start=DAY, end=DAY, symbol="MES")
    backend.replace_slice(TABLE, replacement, start=DAY, end=DAY, symbol="MES")
    again = backend.read(f"SELECT * FROM {TABLE} ORDER BY ts_event")
    assert again.height == replacement.height > previous.height
