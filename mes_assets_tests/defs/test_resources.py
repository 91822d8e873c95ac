"""Resources: the no-credential defaults, and clear failures when production config is missing."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from mes_assets.cli import sample_windows
from mes_assets.definitions import build_definitions
from mes_assets.defs.resources import RecordedDataResource, WarehouseResource, resources_from_env
from mes_assets.instruments import MES, ZL
from mes_assets.sources.errors import MissingCredentialsError
from mes_assets.warehouse.base import WarehouseError
from mes_assets.warehouse.duckdb_backend import DuckDBBackend


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_defaults_are_embedded_duckdb_and_replay(monkeypatch):
    for var in ("MES_WAREHOUSE", "MES_SOURCE_MODE", "DATABENTO_API_KEY", "FRED_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    resources = resources_from_env()
    shared, private = resources["warehouse"], resources["private_warehouse"]
    assert isinstance(shared.get_backend(), DuckDBBackend)
    assert shared.duckdb_path != private.duckdb_path  # one file per audience
    assert resources["recorded_data"].mode == "replay"


@pytest.mark.parametrize(
    ("client", "variable"),
    [("market_data", "DATABENTO_API_KEY"), ("fred", "FRED_API_KEY")],
)
def test_live_mode_without_a_key_names_the_variable(no_network, client, variable):
    recorded = RecordedDataResource(mode="live")
    with pytest.raises(MissingCredentialsError, match=variable):
        getattr(recorded, client)()


def test_bigquery_without_a_project_names_the_variable():
    resource = WarehouseResource(audience="private", backend="bigquery")
    with pytest.raises(Exception, match="MES_BQ_PROJECT_PRIVATE"):
        resource.get_backend()


def test_bigquery_without_credentials_names_the_variable(no_network, monkeypatch, tmp_path):
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    resource = WarehouseResource(audience="shared", backend="bigquery", bigquery_project="p")
    with pytest.raises(WarehouseError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        resource.get_backend().read("SELECT 1")


def test_demo_windows_are_the_recorded_real_sample(resources):
    definitions = build_definitions(resources)
    assert sample_windows(ZL, definitions) == [(dt.date(2021, 12, 15), dt.date(2025, 10, 14))]
    mes = sample_windows(MES, definitions)
    assert mes[0] == (dt.date(2023, 3, 8), dt.date(2023, 3, 23))
    assert [w[0] for w in mes] == [dt.date(2023, 3, 8), dt.date(2023, 9, 25), dt.date(2025, 4, 21)]
