"""The embedded Dagster instance's SQLite storage, tuned for long single-run backfills.

Why it exists (measured in benchmarks/backfill.py): a single-run backfill of one year writes one
``ASSET_MATERIALIZATION`` event per partition and asset, plus the planned events, and with
Dagster's stock :class:`SqliteEventLogStorage` each event cost about 35 ms on this machine, which
made the Dagster event log, not the computation, most of a one-year ZL backfill. The stock class
builds a new SQLAlchemy engine for every statement, so every insert is compiled afresh (SQLAlchemy
caches compiled SQL per engine) and every commit waits for ``fsync`` (SQLite's default
``synchronous=FULL``).

:class:`TunedSqliteEventLogStorage` changes exactly three things:

* one engine per shard (the per-run databases and the index) holding one open connection, so
  SQLAlchemy's compiled-SQL cache survives between events and SQLite does not open, read the
  schema, checkpoint the WAL and close the file for every statement (the stock class's ``NullPool``
  does all of that per event). At most ``MAX_OPEN_SHARDS`` engines stay open (least recently used
  closed first), so a long-lived webserver reading many runs does not run out of file handles; a
  forked child never reuses its parent's connections;
* ``PRAGMA synchronous=NORMAL`` on every connection. The databases are in WAL mode (Dagster sets
  it when it creates them), where NORMAL keeps the database consistent after an application crash
  and can only lose the last transactions on an operating-system crash or power loss. The event
  log of a local development instance is an acceptable place for that trade; production runs on
  Dagster's Postgres storage and never loads this module;
* one ``ASSET_MATERIALIZATION_PLANNED`` event per asset and single-run backfill (carrying the
  partition range) instead of one per partition: Dagster's own option
  (``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``), on by default here; set the variable to
  ``false`` to get one per partition back. Dagster's documented price: when such a run fails, its
  partitions show as missing rather than failed (the run itself shows failed).

:class:`TunedSqliteStorage` is the ``storage: custom:`` entry of ``dagster.yaml``: Dagster's
:class:`DagsterSqliteStorage` (same directory layout, same run and schedule storage) with the tuned
event log.

What it relies on (Dagster internals, ``dagster._core``; the version is pinned in pyproject.toml):
``SqliteEventLogStorage._connect(shard)``, ``._initdb(engine)``, ``._db_lock``,
``._initialized_dbs``, ``.wipe()``, ``.dispose()`` and
``supports_partition_subset_in_asset_materialization_planned_events``; ``DagsterSqliteStorage``'s
``_run_storage`` / ``_event_log_storage`` / ``_schedule_storage`` / ``_inst_data`` attributes and
the ``_runs_directory`` / ``_event_logs_directory`` / ``_schedule_directory`` helpers of
``dagster._core.storage.sqlite_storage``. ``mes_assets_tests/instance/test_dagster_internals.py``
checks each of them by name and signature (an upgrade that moves one fails there with a message
naming it), and ``test_storage.py`` exercises every override.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
)
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils.tags import get_boolean_tag_value
from sqlalchemy.pool import QueuePool

__all__ = ["MAX_OPEN_SHARDS", "PLANNED_EVENTS_ENV", "SYNCHRONOUS", "TunedSqliteEventLogStorage", "TunedSqliteStorage"]

SYNCHRONOUS = "NORMAL"
MAX_OPEN_SHARDS = 16
PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# Dagster's own busy timeout for SQLite (seconds): concurrent runs wait for the write lock.
_BUSY_TIMEOUT_S = 30


def _set_synchronous(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
    cursor.close()


class TunedSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with one engine per shard and ``synchronous=NORMAL``."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> TunedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        return get_boolean_tag_value(os.getenv(PLANNED_EVENTS_ENV), default_value=True)

    def _engine(self, shard: str) -> db.engine.Engine:
        if os.getpid() != self._engines_pid:  # a forked child never uses its parent's connections
            for inherited in self._engines.values():
                inherited.dispose(close=False)
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            # One connection kept per shard: every use holds self._db_lock. Dagster's schema check
            # opens a second one while the first is out; such overflow connections are closed on
            # return.
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": _BUSY_TIMEOUT_S},
            )
            db.event.listen(engine, "connect", _set_synchronous)
            self._engines[shard] = engine
            while len(self._engines) > MAX_OPEN_SHARDS:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        # Same contract as the parent (one lock, lazy schema creation, one transaction per use);
        # only the engine is reused.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _close_engines(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def wipe(self) -> None:
        # The parent deletes the run databases' files: no connection may outlive them.
        with self._db_lock:
            self._close_engines()
        super().wipe()

    def dispose(self) -> None:
        with self._db_lock:
            self._close_engines()
        super().dispose()


class TunedSqliteStorage(DagsterSqliteStorage):
    """``DagsterSqliteStorage`` (same layout under ``base_dir``) with the tuned event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # The parent builds the stock event log; build the same three storages ourselves instead.
        self.base_dir = str(base_dir)
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = TunedSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> TunedSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
