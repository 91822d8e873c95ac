"""Shared fixtures for the data-source tests: the real recorded data root."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# /work/main/mes_assets_tests/sources/conftest.py -> parents[2] = repo root; its parent holds shared/
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _data_dir() -> Path:
    env = os.environ.get("MES_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _data_dir()
    if not root.is_dir():
        pytest.skip(
            f"recorded data directory {root} not found: set MES_DATA_DIR to the shared/data "
            "directory (see shared/data/README.md) to run the real-file tests"
        )
    return root


class NetworkForbidden(AssertionError):
    pass


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket or resolve a host fails the test loudly (live-client tests)."""

    def boom(*args, **kwargs):
        raise NetworkForbidden(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "socket", boom)
    monkeypatch.setattr(socket, "create_connection", boom)
    monkeypatch.setattr(socket, "getaddrinfo", boom)
