"""Dagster resources: the two audience warehouses and the real-data sources.

Configuration comes from the environment (see README "Configuration"); secrets only through
``dg.EnvVar`` so they never appear in code, logs or run metadata.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from mes_assets.gamma.forward import parity_forward
from mes_assets.instruments import MES, OPTIONS_PRODUCTS
from mes_assets.market.calendars import exchange_sessions
from mes_assets.sources.data_dir import resolve_data_dir
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.target import DEFAULT_DUCKDB_DIR, WarehouseConfigError, WarehouseTarget


class WarehouseResource(dg.ConfigurableResource):
    """One audience's warehouse: embedded DuckDB file (default) or a BigQuery project."""

    audience: Literal["shared", "private"] = Field(
        description="'shared' (ZL, procurement-facing) or 'private' (MES); never mixed."
    )
    backend: Literal["duckdb", "bigquery"] = Field(
        default="duckdb", description="duckdb needs no credentials; bigquery uses ADC."
    )
    duckdb_dir: str = Field(default=str(DEFAULT_DUCKDB_DIR), description="Folder of the per-audience DuckDB files.")
    bigquery_project: str | None = Field(default=None, description="GCP project holding this audience's datasets.")
    bigquery_location: str = Field(default="US", description="BigQuery location.")

    def target(self) -> WarehouseTarget:
        return WarehouseTarget(
            self.audience, self.backend, self.duckdb_dir, self.bigquery_project, self.bigquery_location
        )

    @property
    def duckdb_path(self) -> Path:
        return self.target().duckdb_path

    def get_backend(self) -> WarehouseBackend:
        try:
            return self.target().get_backend()
        except WarehouseConfigError as exc:
            raise dg.Failure(str(exc)) from None

    def ensure_schema(self) -> WarehouseBackend:
        """The backend with every table and view from ``sql/`` applied (idempotent, once per process)."""
        try:
            return self.target().ensure_schema()
        except WarehouseConfigError as exc:
            raise dg.Failure(str(exc)) from None


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
        from mes_assets.sources.options.cboe import CboeReplayOptions
        from mes_assets.sources.options.databento import DatabentoOptions
        from mes_assets.sources.options.records import FirstUsableOptions
        from mes_assets.sources.options.replay import ReplayOptions

        if self.mode == "live":
            client = DatabentoOptions(self.databento_api_key)
            futures_parent = OPTIONS_PRODUCTS[symbol.upper()].databento_futures_parent
            return DatabentoOptions(
                self.databento_api_key, underlying_price_lookup=client.futures_settlement_lookup(futures_parent)
            )
        # Lean's daily records first (ES futures options, then SPX/SPXW), then the Cboe chain downloads
        return FirstUsableOptions(
            [
                ReplayOptions(self.root(), forward=parity_forward),
                CboeReplayOptions(self.root(), forward=parity_forward, sessions=nyse_session_dates),
            ]
        )


def nyse_session_dates(first: dt.date, last: dt.date) -> list[dt.date]:
    """Sessions of the US index-options market (MES's RTH calendar, NYSE: a CME session without RTH,
    e.g. Labor Day, is not one), to date option chains."""
    first = max(first, MES.history_start - dt.timedelta(days=3 * 365))
    sessions = exchange_sessions(MES, first, last)
    return sessions.filter(sessions["rth_open"].is_not_null())["date"].to_list()


def _optional_secret(name: str) -> dg.EnvVar | None:
    """An EnvVar reference when the variable is set (its value is resolved by Dagster, never here)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    """The resource set for this process, chosen by environment variables (README: Configuration)."""

    def warehouse(audience: Literal["shared", "private"]) -> WarehouseResource:
        target = WarehouseTarget.from_env(audience, os.environ)
        return WarehouseResource(
            audience=target.audience,
            backend=target.backend,
            duckdb_dir=target.duckdb_dir,
            bigquery_project=target.bigquery_project,
            bigquery_location=target.bigquery_location,
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
