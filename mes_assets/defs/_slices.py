"""Shared plumbing for assets that replace a (date range, key) slice of one table."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from mes_assets.defs.partitions import trading_day_partitions
from mes_assets.instruments import InstrumentSpec
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.queries import query

UTC = dt.UTC


def now_utc() -> dt.datetime:
    return dt.datetime.now(UTC)


def instrument_warehouse(context: dg.AssetExecutionContext, spec: InstrumentSpec) -> WarehouseBackend:
    """The warehouse of the instrument's audience, with sql/ applied."""
    return getattr(context.resources, spec.warehouse_key).ensure_schema()


def read_sessions(warehouse: WarehouseBackend, symbol: str, start: dt.date, end: dt.date) -> pl.DataFrame:
    return warehouse.read(
        query("exchange_sessions_between"),
        {"symbol": symbol, "start_date": start, "end_date": end},
    )


def weekdays(start: dt.date, end: dt.date) -> list[dt.date]:
    days = (end - start).days + 1
    return [start + dt.timedelta(d) for d in range(days) if (start + dt.timedelta(d)).weekday() < 5]


def slice_metadata(
    table: str,
    frame: pl.DataFrame,
    start: dt.date,
    end: dt.date,
    status_counts: Mapping[str, int],
    extra: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """Row count, schema, range and per-status date counts, as every slice asset reports them."""
    status = ", ".join(f"{k}={v}" for k, v in sorted(status_counts.items()) if v) or "no dates"
    metadata: dict[str, Any] = {
        "table": table,
        "dagster/row_count": frame.height,
        "date_range": f"{start.isoformat()}..{end.isoformat()}",
        "status": status,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()]
        ),
    }
    metadata.update({f"dates_{k}": int(v) for k, v in status_counts.items()})
    metadata.update(dict(extra or {}))
    return metadata


def family_key(spec: InstrumentSpec, name: str) -> dg.AssetKey:
    return dg.AssetKey([spec.key_prefix, name])


def family_asset(
    spec: InstrumentSpec,
    name: str,
    *,
    description: str,
    kinds: set[str],
    deps: list | None = None,
    extra_resources: tuple[str, ...] = (),
    check_specs: list[dg.AssetCheckSpec] | None = None,
):
    """The decorator every date-partitioned asset of an instrument family uses.

    Partitioned by trading day, single-run backfills, written through the family's audience
    warehouse, in the ``warehouse`` concurrency pool.
    """
    return dg.asset(
        key=family_key(spec, name),
        group_name=spec.key_prefix,
        deps=deps or [],
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={spec.warehouse_key, *extra_resources},
        pool="warehouse",
        kinds=kinds,
        check_specs=check_specs,
        description=description,
    )


def calibrated_spec(spec: InstrumentSpec, warehouse: WarehouseBackend) -> InstrumentSpec:
    """``spec`` with k from the newest stored calibration, or unchanged if none chose a k."""
    chosen = warehouse.read(
        query("zigzag_calibration_chosen"),
        {"symbol": spec.symbol},
    )
    if chosen.is_empty():
        return spec
    row = chosen.row(0, named=True)
    return spec.with_calibrated_k(float(row["k"]), row["calibration_version"])
