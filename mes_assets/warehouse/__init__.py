"""Warehouse backends (embedded DuckDB, Google BigQuery) behind one small interface."""

from mes_assets.warehouse.base import WarehouseBackend, WarehouseError
from mes_assets.warehouse.sql_files import SqlFile, load_sql_files

__all__ = ["SqlFile", "WarehouseBackend", "WarehouseError", "load_sql_files"]
