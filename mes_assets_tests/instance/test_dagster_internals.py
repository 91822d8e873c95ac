"""The Dagster internals the embedded instance's tuned storage subclasses are still where it expects.

mes_assets/instance/storage.py overrides private methods of Dagster's SQLite storage. A Dagster
upgrade that renames or re-signs one of them must fail here, naming what moved, before it breaks
an instance at run time.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from mes_assets.instance import storage

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pinned_dagster() -> str:
    match = re.search(r'"dagster==([^"]+)"', PYPROJECT.read_text())
    assert match, "pyproject.toml must pin dagster exactly (the tuned storage relies on its internals)"
    return match.group(1)


def test_the_installed_dagster_is_the_pinned_one():
    assert version("dagster") == pinned_dagster(), (
        "the installed dagster differs from the pin in pyproject.toml; re-check mes_assets/instance/storage.py"
    )


EVENT_LOG_METHODS = {
    "_connect": ["self", "shard"],
    "_initdb": ["self", "engine", "for_index_shard"],
    "wipe": ["self"],
    "dispose": ["self"],
    "from_config_value": ["inst_data", "config_value"],
}


@pytest.mark.parametrize("name", sorted(EVENT_LOG_METHODS))
def test_sqlite_event_log_storage_keeps_the_overridden_methods(name):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    member = inspect.getattr_static(SqliteEventLogStorage, name, None)
    assert member is not None, f"dagster's SqliteEventLogStorage has no {name} any more (tuned storage overrides it)"
    func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
    params = [p for p in inspect.signature(func).parameters if p not in ("cls",)]
    assert params == EVENT_LOG_METHODS[name], f"SqliteEventLogStorage.{name} changed signature: {params}"


def test_the_planned_events_switch_is_still_a_property():
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    name = "supports_partition_subset_in_asset_materialization_planned_events"
    assert isinstance(inspect.getattr_static(SqliteEventLogStorage, name, None), property), (
        f"dagster's event log storage no longer has the {name} property (tuned storage overrides it)"
    )


def test_sqlite_event_log_storage_sets_the_attributes_the_tuned_connect_uses(tmp_path):
    events = storage.TunedSqliteEventLogStorage(str(tmp_path / "events"))
    try:
        for attr in ("_db_lock", "_initialized_dbs", "_engines"):
            assert hasattr(events, attr), f"dagster's SqliteEventLogStorage no longer sets {attr}"
        with events._connect("index") as conn:  # the override itself, on a real shard
            # SQLite reports synchronous as a number: 1 = NORMAL
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    finally:
        events.dispose()


def test_sqlite_storage_helpers_and_attributes_are_where_the_tuned_storage_expects(tmp_path):
    from dagster._core.storage import sqlite_storage

    for helper in ("_runs_directory", "_event_logs_directory", "_schedule_directory"):
        fn = getattr(sqlite_storage, helper, None)
        assert callable(fn), f"dagster._core.storage.sqlite_storage.{helper} is gone"
        assert list(inspect.signature(fn).parameters) == ["base"], f"{helper} changed signature"
    tuned = storage.TunedSqliteStorage(str(tmp_path))
    try:
        for attr in ("_run_storage", "_event_log_storage", "_schedule_storage", "_inst_data"):
            assert hasattr(tuned, attr), f"DagsterSqliteStorage no longer uses {attr}"
        assert isinstance(tuned.event_log_storage, storage.TunedSqliteEventLogStorage)
    finally:
        tuned.dispose()
