"""Dagster resources: the two audience warehouses and the real-data sources.

Configuration comes from the environment (see README "Configuration"); secrets only through
``dg.EnvVar`` so they never appear in code, logs or run metadata.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from mes_assets.data_dir import REPO_ROOT, resolve_data_dir
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.duckdb_backend import DuckDBBackend
from mes_assets.warehouse.sql_files import for_audience, load_sql_files


_SCHEMA_APPLIED: set[tuple[str, tuple]] = set()


class WarehouseResource(dg.ConfigurableResource):
    """One audience's warehouse: embedded DuckDB file (default) or a BigQuery project."""

    audience: Literal["shared", "private"] = Field(
        description="'shared' (ZL, procurement-facing) or 'private' (MES); never mixed."
    )
    backend: Literal["duckdb", "bigquery"] = Field(
        default="duckdb", description="duckdb needs no credentials; bigquery uses ADC."
    )
    duckdb_dir: str = Field(
        default=str(REPO_ROOT / ".warehouse"), description="Folder of the per-audience DuckDB files."
    )
    bigquery_project: str | None = Field(
        default=None, description="GCP project holding this audience's datasets."
    )
    bigquery_location: str = Field(default="US", description="BigQuery location.")

    @property
    def duckdb_path(self) -> Path:
        return Path(self.duckdb_dir) / f"{self.audience}.duckdb"

    def get_backend(self) -> WarehouseBackend:
        if self.backend == "duckdb":
            return DuckDBBackend(self.duckdb_path)
        from mes_assets.warehouse.bigquery_backend import BigQueryBackend

        if not self.bigquery_project:
            var = "MES_BQ_PROJECT_SHARED" if self.audience == "shared" else "MES_BQ_PROJECT_PRIVATE"
            raise dg.Failure(f"MES_WAREHOUSE=bigquery needs {var} (the GCP project for '{self.audience}')")
        return BigQueryBackend(self.bigquery_project, location=self.bigquery_location)

    def ensure_schema(self) -> WarehouseBackend:
        """The backend with every table and view from ``sql/`` applied (idempotent).

        Applied once per process and target: on BigQuery each statement is a job (~1 s), and a
        run's assets all share the same target.
        """
        backend = self.get_backend()
        files = for_audience(load_sql_files(), self.audience)
        target = (repr(backend), files)
        if target not in _SCHEMA_APPLIED or not self._target_exists():
            backend.apply_sql(files)
            _SCHEMA_APPLIED.add(target)
        return backend

    def _target_exists(self) -> bool:
        return self.backend != "duckdb" or self.duckdb_path.exists()


class RecordedDataResource(dg.ConfigurableResource):
    """Real market data: replay of recorded files (default) or the live vendor APIs."""

    mode: Literal["replay", "live"] = Field(
        default="replay", description="replay recorded files, or call Databento/FRED/CFTC live."
    )
    data_dir: str | None = Field(
        default=None, description="Replay root; default MES_DATA_DIR, ../shared/data, sample_data/."
    )
    databento_api_key: str | None = Field(default=None, description="Live mode only (EnvVar).")
    fred_api_key: str | None = Field(default=None, description="Live mode only (EnvVar).")

    def root(self) -> Path:
        return resolve_data_dir(self.data_dir)

    def market_data(self):
        from mes_assets.sources.live import DatabentoMarketData
        from mes_assets.sources.replay import ReplayMarketData

        if self.mode == "live":
            return DatabentoMarketData(self.databento_api_key)
        return ReplayMarketData(self.root())

    def fred(self):
        from mes_assets.sources.live import FredLiveClient
        from mes_assets.sources.replay import ReplayFred

        if self.mode == "live":
            return FredLiveClient(self.fred_api_key)
        return ReplayFred(self.root())

    def cot(self):
        from mes_assets.sources.live import CftcLiveClient
        from mes_assets.sources.replay import ReplayCot

        if self.mode == "live":
            return CftcLiveClient()
        return ReplayCot(self.root())

    def options(self, symbol: str):
        """Options OI source: replay of the recorded files, or Databento GLBX.MDP3 (definition +
        statistics) with the underlying futures' own Databento settlements as underlying prices."""
        from mes_assets.sources.options_live import DatabentoOptions
        from mes_assets.sources.options_replay import ReplayOptions

        if self.mode == "live":
            client = DatabentoOptions(self.databento_api_key)
            futures_parent = {"MES": "MES.FUT", "ES": "ES.FUT", "ZL": "ZL.FUT"}[symbol.upper()]
            return DatabentoOptions(self.databento_api_key,
                                    underlying_price_lookup=client.futures_settlement_lookup(futures_parent))
        return ReplayOptions(self.root())


def _optional_secret(name: str) -> dg.EnvVar | None:
    """An EnvVar reference when the variable is set (its value is resolved by Dagster, never here)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    """The resource set for this process, chosen by environment variables (README: Configuration)."""

    def warehouse(audience: Literal["shared", "private"]) -> WarehouseResource:
        return WarehouseResource(
            audience=audience,
            backend=os.environ.get("MES_WAREHOUSE", "duckdb"),  # type: ignore[arg-type]
            duckdb_dir=os.environ.get("MES_WAREHOUSE_DIR", str(REPO_ROOT / ".warehouse")),
            bigquery_project=os.environ.get(f"MES_BQ_PROJECT_{audience.upper()}"),
            bigquery_location=os.environ.get("MES_BQ_LOCATION", "US"),
        )

    return {
        "warehouse": warehouse("shared"),
        "private_warehouse": warehouse("private"),
        "recorded_data": RecordedDataResource(
            mode=os.environ.get("MES_SOURCE_MODE", "replay"),  # type: ignore[arg-type]
            data_dir=os.environ.get("MES_DATA_DIR") or None,
            databento_api_key=_optional_secret("DATABENTO_API_KEY"),  # type: ignore[arg-type]
            fred_api_key=_optional_secret("FRED_API_KEY"),  # type: ignore[arg-type]
        ),
    }
