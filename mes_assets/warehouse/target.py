"""Which warehouse one audience writes and reads: an embedded DuckDB file or a BigQuery project.

Plain configuration, no Dagster: the Dagster resource (defs/resources.py) and the dashboards
(which import no Dagster) build their backends from the same :class:`WarehouseTarget`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, cast

from mes_assets.sources.data_dir import REPO_ROOT
from mes_assets.warehouse.base import WarehouseBackend
from mes_assets.warehouse.sql_files import for_audience, load_sql_files

__all__ = ["DEFAULT_DUCKDB_DIR", "SchemaTarget", "WarehouseConfigError", "WarehouseTarget"]

Audience = Literal["shared", "private"]
DEFAULT_DUCKDB_DIR = REPO_ROOT / ".warehouse"

# (backend, files) pairs whose DDL this process has applied: on BigQuery each statement is a job
# (~1 s), and a run's assets all share one target.
_SCHEMA_APPLIED: set[tuple[str, tuple]] = set()


class WarehouseConfigError(ValueError):
    """The configuration cannot reach a warehouse (e.g. BigQuery without a project)."""


class SchemaTarget(Protocol):
    """What a dashboard needs of a warehouse: its audience and a backend with the views applied."""

    @property
    def audience(self) -> str: ...

    def ensure_schema(self) -> WarehouseBackend: ...


@dataclass(frozen=True)
class WarehouseTarget:
    """One audience's warehouse: ``shared`` (ZL, procurement-facing) or ``private`` (MES)."""

    audience: Audience
    backend: Literal["duckdb", "bigquery"] = "duckdb"
    duckdb_dir: str = str(DEFAULT_DUCKDB_DIR)
    bigquery_project: str | None = None
    bigquery_location: str = "US"

    @classmethod
    def from_env(cls, audience: Audience, environ: Mapping[str, str]) -> WarehouseTarget:
        """The target the environment names (README: Configuration)."""
        backend = environ.get("MES_WAREHOUSE", "duckdb")
        if backend not in ("duckdb", "bigquery"):
            raise WarehouseConfigError(f"MES_WAREHOUSE must be 'duckdb' or 'bigquery', got {backend!r}")
        return cls(
            audience=audience,
            backend=cast(Literal["duckdb", "bigquery"], backend),
            duckdb_dir=environ.get("MES_WAREHOUSE_DIR", str(DEFAULT_DUCKDB_DIR)),
            bigquery_project=environ.get(f"MES_BQ_PROJECT_{audience.upper()}"),
            bigquery_location=environ.get("MES_BQ_LOCATION", "US"),
        )

    @property
    def duckdb_path(self) -> Path:
        return Path(self.duckdb_dir) / f"{self.audience}.duckdb"

    def get_backend(self) -> WarehouseBackend:
        if self.backend == "duckdb":
            from mes_assets.warehouse.duckdb_backend import DuckDBBackend

            return DuckDBBackend(self.duckdb_path)
        from mes_assets.warehouse.bigquery_backend import BigQueryBackend

        if not self.bigquery_project:
            var = "MES_BQ_PROJECT_SHARED" if self.audience == "shared" else "MES_BQ_PROJECT_PRIVATE"
            raise WarehouseConfigError(f"MES_WAREHOUSE=bigquery needs {var} (the GCP project for '{self.audience}')")
        return BigQueryBackend(self.bigquery_project, location=self.bigquery_location)

    def ensure_schema(self) -> WarehouseBackend:
        """The backend with every table and view from ``sql/`` applied (idempotent, once per process)."""
        backend = self.get_backend()
        files = for_audience(load_sql_files(), self.audience)
        key = (repr(backend), files)
        if key not in _SCHEMA_APPLIED or not self._target_exists():
            backend.apply_sql(files)
            _SCHEMA_APPLIED.add(key)
        return backend

    def _target_exists(self) -> bool:
        return self.backend != "duckdb" or self.duckdb_path.exists()
