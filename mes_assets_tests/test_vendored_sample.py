"""The vendored real sample: byte-for-byte, with provenance, and enough to run the demo alone."""

from __future__ import annotations

import hashlib
import os

import pytest

from mes_assets.cli import sample_windows
from mes_assets.definitions import build_definitions
from mes_assets.instruments import MES, ZL
from mes_assets.sources.data_dir import SHARED_DATA, VENDORED_DATA, resolve_data_dir
from mes_assets_tests.conftest import make_resources


def _sums(path):
    return dict(reversed(line.split(maxsplit=1)) for line in path.read_text().splitlines())


def test_every_vendored_file_matches_its_checksum_and_has_provenance():
    sums = _sums(VENDORED_DATA / "SHA256SUMS")
    provenance = (VENDORED_DATA / "PROVENANCE.md").read_text()
    assert len(sums) >= 10
    for relative, digest in sums.items():
        data = (VENDORED_DATA / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, relative
        assert f"| {relative} |" in provenance, f"{relative} has no provenance row"
    assert sum((VENDORED_DATA / r).stat().st_size for r in sums) < 8 * 2**20  # a few MB


def test_vendored_files_are_the_shared_files_when_both_exist():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    shared = _sums(SHARED_DATA / "SHA256SUMS")
    for relative, digest in _sums(VENDORED_DATA / "SHA256SUMS").items():
        assert shared[relative] == digest, relative


def test_data_dir_falls_back_to_the_vendored_sample(monkeypatch, tmp_path):
    monkeypatch.delenv("MES_DATA_DIR", raising=False)
    monkeypatch.setattr("mes_assets.sources.data_dir.SHARED_DATA", tmp_path / "absent")
    assert resolve_data_dir() == VENDORED_DATA.resolve()
    monkeypatch.setenv("MES_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="MES_DATA_DIR"):
        resolve_data_dir()


def test_the_demo_windows_come_out_the_same_from_the_vendored_sample(tmp_path):
    vendored = build_definitions(make_resources(tmp_path, VENDORED_DATA))
    assert sample_windows(ZL, vendored)[0][0].isoformat() == "2021-12-15"
    assert len(sample_windows(MES, vendored)) == 3
    if os.environ.get("MES_DATA_DIR") is None and SHARED_DATA.is_dir():
        shared = build_definitions(make_resources(tmp_path, SHARED_DATA))
        assert sample_windows(MES, shared) == sample_windows(MES, vendored)
