"""Shared fixtures: real recorded data and throwaway embedded warehouses."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest
from filelock import FileLock

from mes_assets.cli import QUIET
from mes_assets.definitions import build_definitions
from mes_assets.defs.resources import RecordedDataResource, WarehouseResource
from mes_assets.sources.data_dir import resolve_data_dir

# Range runs in tests use Dagster's in-memory instance; give it the embedded instance's setting of
# one planned event per asset and range run (mes_assets/instance/storage.py): measured, the
# whole-history ZL run went from 181 to 132 s, most of the rest being event serialization.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real recorded data (../shared/data, MES_DATA_DIR, or the vendored sample)."""
    return resolve_data_dir()


def make_resources(warehouse_dir: Path, data_root: Path) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(audience="shared", duckdb_dir=str(warehouse_dir)),
        "private_warehouse": WarehouseResource(audience="private", duckdb_dir=str(warehouse_dir)),
        "recorded_data": RecordedDataResource(data_dir=str(data_root)),
    }


@pytest.fixture()
def resources(tmp_path, data_root) -> dict[str, dg.ConfigurableResource]:
    return make_resources(tmp_path / "warehouse", data_root)


@pytest.fixture()
def definitions(resources) -> dg.Definitions:
    return build_definitions(resources)


def run_job(
    definitions: dg.Definitions,
    job_name: str,
    start: dt.date,
    end: dt.date,
    assets: list[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run over a partition range, as a UI backfill with a single-run policy launches it."""
    job = definitions.resolve_job_def(job_name)
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    selection = [dg.AssetKey.from_user_string(a) for a in assets] if assets else None
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags=tags,
        run_config=QUIET,
        asset_selection=selection,
    )
    assert result.success
    return result


def last_metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    """Metadata of the asset's materialization in that run (identical for every partition)."""
    events = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey.from_user_string(key)
    ]
    assert events, f"{key} was not materialized"
    return {k: v.value for k, v in events[-1].metadata.items()}


# ---------------------------------------------------------------------------------------------
# Warehouses built once per run and shared by the tests that need the same materialization
# ---------------------------------------------------------------------------------------------
def shared_warehouse(build: Callable[[Path, Path], object]) -> object:
    """A session fixture: ``build(folder, data_root)`` materializes into an empty folder, once per run.

    Under pytest-xdist the first worker that needs it builds it (under a file lock, in the run's
    base folder that all its workers share) and the others wait for it. Nobody opens it after the
    build: a test copies its DuckDB files into its own warehouse (``seed``, ``copy_warehouse``) and
    reads or materializes more there, so no test sees another's writes, and DuckDB's one writing
    process per file holds. The fixture's value is the folder, or ``(folder, what build returned)``
    when that is not None (pickled, so it reaches the other workers too).
    """

    def fixture(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> object:
        root = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER"):
            root = root.parent  # the controller's base folder, common to this run's workers
        shared = root / "shared_warehouses"
        shared.mkdir(exist_ok=True)
        folder, done = shared / build.__name__, shared / f"{build.__name__}.pickle"
        with FileLock(str(shared / f"{build.__name__}.lock")):
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)  # what a worker killed mid-build left
                folder.mkdir()
                done.write_bytes(pickle.dumps(build(folder, data_root)))
        payload = pickle.loads(done.read_bytes())
        return folder if payload is None else (folder, payload)

    fixture.__doc__ = build.__doc__
    return pytest.fixture(scope="session", name=build.__name__)(fixture)


def copy_warehouse(source: Path, target: Path) -> Path:
    """``target`` (created if missing) holding a copy of every DuckDB file of ``source``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.duckdb*"):
        shutil.copy2(path, target / path.name)
    return target


def seed(resources: dict[str, dg.ConfigurableResource], source: Path) -> None:
    """Start ``resources``' (still empty) warehouse from a copy of the shared one at ``source``."""
    target = Path(resources["warehouse"].duckdb_dir)
    assert not any(target.glob("*.duckdb*")), f"{target} is not empty"
    copy_warehouse(source, target)


ZL_HISTORY_2024_07 = (dt.date(2021, 12, 15), dt.date(2024, 7, 31))  # ZL's first recorded bar to July 2024


@shared_warehouse
def zl_history_through_2024_07(folder: Path, data_root: Path) -> None:
    """Drivers and ZL sessions, bars, features and fib levels over ZL_HISTORY_2024_07, fresh warehouse
    (the dashboard's warehouse and the ZL checklist test both start from exactly these two runs)."""
    definitions = build_definitions(make_resources(folder, data_root))
    run_job(definitions, "drivers_job", *ZL_HISTORY_2024_07)
    run_job(
        definitions,
        "zl_job",
        *ZL_HISTORY_2024_07,
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d", "zl/master_features", "zl/fib_levels"],
    )


@shared_warehouse
def mes_gamma_2023_06_23(folder: Path, data_root: Path) -> dict[str, object]:
    """MES options -> GEX -> gamma summary of 2023-06-23 (the SPX stand-in) on a fresh warehouse, and
    ``last_metadata`` of mes/gamma_summary in that last run (gamma asset test, dashboard gamma walls)."""
    definitions = build_definitions(make_resources(folder, data_root))
    day = dt.date(2023, 6, 23)
    run_job(definitions, "drivers_job", dt.date(2023, 6, 1), day)
    run_job(definitions, "mes_job", dt.date(2023, 6, 20), day, assets=["mes/exchange_sessions", "mes/master_features"])
    result = run_job(
        definitions, "mes_job", day, day, assets=["mes/options_oi_raw", "mes/gex_surface", "mes/gamma_summary"]
    )
    return last_metadata(result, "mes/gamma_summary")


# ---------------------------------------------------------------------------------------------
# Parallel runs (pytest-xdist)
# ---------------------------------------------------------------------------------------------
MAX_WORKERS = 4  # the longest modules (~1.5 min each) bound the run beyond that


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Without -n, --dist or --tx: ``-n auto --maxprocesses 4 --dist loadscope --no-loadscope-reorder``.

    A module's tests stay on one worker, so a module fixture is built once; modules go out in
    collection order (the slow Dagster modules early). ``--dist loadgroup`` would not help:
    with pytest 9.2 it ignores ``xdist_group`` (pytest-dev/pytest-xdist#1386). Set here rather
    than in addopts so that ``-p no:xdist`` (which removes those options) keeps working; ``-n 0``
    runs in this process, and so does ``--pdb`` (xdist turns ``auto`` into 0 then).
    """
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return  # no xdist, or this is one of its workers (which must never start workers of its own)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a pytest that a test started inside a worker: stays in its own process
    option = config.option
    if option.numprocesses is None and option.dist == "no" and not option.tx:
        option.numprocesses = "auto"
        option.maxprocesses = option.maxprocesses or MAX_WORKERS
        option.dist = "loadscope"
        option.loadscopereorder = False
