"""The tuned SQLite storage of the embedded Dagster instance (mes_assets/instance/storage.py).

It must behave like Dagster's stock SQLite storage for everything Dagster reads back (runs, one
materialization per partition, partition status, asset history across processes), while writing one
planned event per single-run backfill and keeping a bounded number of connections open.
"""

import multiprocessing
import os
from pathlib import Path

import dagster as dg
import pytest

import mes_assets.instance.storage as dagster_storage
from mes_assets.instance.storage import TunedSqliteEventLogStorage

REPO_ROOT = Path(__file__).resolve().parents[2]
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_numbers(context: dg.AssetExecutionContext) -> None:
    if os.environ.get("FAIL_DAILY_NUMBERS"):
        raise RuntimeError("simulated failure")
    context.log.info(f"{len(context.partition_keys)} partitions")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[daily_numbers])
def daily_numbers_doubled(context: dg.AssetExecutionContext) -> None:
    context.log.info(f"{len(context.partition_keys)} partitions")


DEFS = dg.Definitions(
    assets=[daily_numbers, daily_numbers_doubled], jobs=[dg.define_asset_job("numbers_job", partitions_def=DAYS)]
)
RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-01-31"}


def _instance_yaml(home: Path) -> None:
    """The repository's dagster.yaml with its storage under ``home``."""
    text = (REPO_ROOT / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text(text.replace(".dagster/", f"{home}/.dagster/"))


def _run_range(home: str) -> bool:
    instance = dg.DagsterInstance.from_config(home)
    try:
        return DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, tags=RANGE).success
    finally:
        instance.dispose()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    _instance_yaml(tmp_path)
    return tmp_path


def _materialized(instance: dg.DagsterInstance, key: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def test_repository_dagster_yaml_uses_the_tuned_storage_in_the_stock_layout(home: Path) -> None:
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        storage = instance.event_log_storage
        assert isinstance(storage, TunedSqliteEventLogStorage)
        # the same directories as Dagster's `storage: sqlite:` (existing .dagster folders stay readable)
        assert Path(storage._base_dir) == home / ".dagster" / "storage" / "history" / "runs"
        assert (home / ".dagster" / "storage" / "history" / "runs.db").exists()
    finally:
        instance.dispose()


def test_single_run_backfill_records_every_partition_and_one_planned_event_per_asset(home: Path) -> None:
    assert _run_range(str(home))
    instance = dg.DagsterInstance.from_config(str(home))  # a fresh instance reads what the run wrote
    try:
        keys = {f"2024-01-{d:02d}" for d in range(1, 32)}
        assert _materialized(instance, "daily_numbers") == keys
        assert _materialized(instance, "daily_numbers_doubled") == keys
        run = instance.get_runs()[0]
        planned = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        assert len(planned) == 2  # one per asset, carrying the 31-partition range
        subsets = [r.event_log_entry.dagster_event.event_specific_data.partitions_subset for r in planned]
        assert all(set(s.get_partition_keys()) == keys for s in subsets)
        materializations = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        assert len(materializations) == 62  # one per partition and asset, as with the stock storage
    finally:
        instance.dispose()


def test_per_partition_planned_events_come_back_when_switched_off(home: Path, monkeypatch) -> None:
    monkeypatch.setenv(dagster_storage.PLANNED_EVENTS_ENV, "false")
    assert _run_range(str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        run = instance.get_runs()[0]
        planned = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=1000
        ).records
        assert len(planned) == 62
    finally:
        instance.dispose()


def test_a_failed_backfill_marks_the_run_failed_and_materializes_nothing(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAIL_DAILY_NUMBERS", "1")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        result = DEFS.resolve_job_def("numbers_job").execute_in_process(
            instance=instance, tags=RANGE, raise_on_error=False
        )
        assert not result.success
        assert instance.get_runs()[0].status == dg.DagsterRunStatus.FAILURE
        assert _materialized(instance, "daily_numbers") == set()
    finally:
        instance.dispose()


def test_two_processes_write_one_instance_at_once(home: Path) -> None:
    # `mes-assets demo` runs several jobs in a process pool against the repository's instance.
    _run_range(str(home))  # create the storage first, as the demo does
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        assert pool.map(_run_range, [str(home)] * 4) == [True] * 4
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert len(instance.get_runs()) == 5
        for run in instance.get_runs():
            records = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
            ).records
            assert len(records) == 62 and run.status == dg.DagsterRunStatus.SUCCESS
    finally:
        instance.dispose()


def test_open_connections_stay_bounded_and_wipe_closes_them(home: Path, monkeypatch) -> None:
    monkeypatch.setattr(dagster_storage, "MAX_OPEN_SHARDS", 3)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        for _ in range(5):
            assert DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, tags=RANGE).success
        storage = instance.event_log_storage
        assert len(storage._engines) <= 3
        assert len(instance.get_runs()) == 5  # closed shards are reopened on demand
        for run in instance.get_runs():
            assert len(instance.get_records_for_run(run.run_id, limit=1000).records) > 62
        storage.wipe()
        assert set(storage._engines) <= {"index"}  # run databases deleted, their connections closed
        assert _materialized(instance, "daily_numbers") == set()
        assert DEFS.resolve_job_def("numbers_job").execute_in_process(instance=instance, tags=RANGE).success
        assert len(_materialized(instance, "daily_numbers")) == 31
    finally:
        instance.dispose()


def test_connections_use_synchronous_normal_in_wal_mode(home: Path) -> None:
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        instance.dispose()
