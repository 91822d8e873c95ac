"""Shared fixtures: real recorded data and throwaway embedded warehouses."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pytest

from mes_assets.cli import QUIET
from mes_assets.sources.data_dir import resolve_data_dir
from mes_assets.definitions import build_definitions
from mes_assets.defs.resources import RecordedDataResource, WarehouseResource


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
        instance=dg.DagsterInstance.ephemeral(), tags=tags, run_config=QUIET,
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
