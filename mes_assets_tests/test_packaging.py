"""The SQL ships with the package: a wheel holds every .sql file, and the code location loads from a
non-editable install outside the checkout (no file of the repository on the path)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SQL_DIR = REPO / "mes_assets" / "sql"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # a copy of the tracked tree, so that the build leaves nothing (build/, egg-info) in the checkout
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.split()
    for rel in files:
        src = REPO / rel
        if src.is_file():
            dst = build / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(build), "-w", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (whl,) = out.glob("mes_assets-*.whl")
    return whl


def test_the_wheel_holds_every_sql_file_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(REPO).as_posix() for p in SQL_DIR.rglob("*.sql")}
    assert len(expected) > 40  # ddl, views, transforms and the named queries
    assert expected - names == set()
    assert "mes_assets/py.typed" in names


def test_definitions_validate_from_a_non_editable_install_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MES_", "PYTHONPATH"))}
    env |= {"PYTHONPATH": str(site), "DAGSTER_HOME": str(elsewhere)}
    probe = subprocess.run(
        [sys.executable, "-c", "import mes_assets; print(mes_assets.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(site)  # not the checkout's editable copy
    validate = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "mes_assets.definitions"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert validate.returncode == 0, validate.stdout[-2000:] + validate.stderr[-2000:]
    assert "Validation successful" in validate.stdout + validate.stderr
