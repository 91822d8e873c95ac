"""Dashboard fixtures: the real ZL sample materialized through the assets, a served app, Chromium.

The warehouse is built once per module by running the Dagster jobs on the recorded real data
(no hand-made rows), starting from a copy of the session's ZL history (``zl_history_through_2024_07``);
each served app gets its own copy of the shared DuckDB file, so a test's tickets never leak into
another's and the private file is provably never created beside it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mes_assets.definitions import build_definitions
from mes_assets.sources.data_dir import REPO_ROOT
from mes_assets_tests.conftest import ZL_HISTORY_2024_07, copy_warehouse, make_resources, run_job

D = dt.date
# Real sample window: ZL history from its first bar; forecasts from March 2024 so the bands,
# model health (60 forecasts) and force lines have history; the checklist for July 2024.
HISTORY_START, FORECAST_START = D(2021, 12, 15), D(2024, 3, 1)
CHECKLIST_START, END = D(2024, 7, 22), D(2024, 7, 31)

CHROMIUM = Path(os.environ.get("MES_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("MES_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
SCREENSHOTS: list[Path] = []
TEST_USER = "dashboard-test"


def pytest_terminal_summary(terminalreporter) -> None:
    if SCREENSHOTS:
        terminalreporter.section("dashboard screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="module")
def zl_warehouse(tmp_path_factory: pytest.TempPathFactory, data_root: Path, zl_history_through_2024_07: Path) -> Path:
    """A warehouse folder whose shared.duckdb holds the real ZL sample through the checklist."""
    # drivers and ZL sessions, bars, features, fib levels HISTORY_START..END: the session's shared build
    assert ZL_HISTORY_2024_07 == (HISTORY_START, END)
    folder = copy_warehouse(zl_history_through_2024_07, tmp_path_factory.mktemp("dashboard_warehouse"))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MES_BUDGET_CAP_ZL", raising=False)  # user config: unset, the budget check says so
        definitions = build_definitions(make_resources(folder, data_root))
        run_job(
            definitions,
            "zl_job",
            FORECAST_START,
            END,
            assets=["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
        )
        run_job(
            definitions,
            "zl_job",
            CHECKLIST_START,
            END,
            assets=[
                "zl/model_health",
                "zl/regime_state",
                "zl/options_oi_raw",
                "zl/gex_surface",
                "zl/gamma_summary",
                "zl/mc_touches",
            ],
        )
        run_job(definitions, "zl_job", CHECKLIST_START, END, assets=["zl/entry_checklist"])
    return folder


def copy_shared(source: Path, target: Path) -> Path:
    """A fresh warehouse folder holding only a copy of ``source``'s shared DuckDB file."""
    target.mkdir(parents=True)
    for path in source.glob("shared.duckdb*"):
        shutil.copy2(path, target / path.name)
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, warehouse_dir: Path, process: subprocess.Popen, log: Path) -> None:
        self.url, self.warehouse_dir, self.process, self.log = url, warehouse_dir, process, log


@pytest.fixture(scope="module")
def procurement_server(zl_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m mes_assets.dashboard`` serving a copy of the shared warehouse, as a user would run it."""
    folder = copy_shared(zl_warehouse, tmp_path_factory.mktemp("served") / "warehouse")
    port = _free_port()
    log = folder.parent / "server.log"
    env = {**os.environ, "MES_WAREHOUSE_DIR": str(folder), "MES_DASHBOARD_USER": TEST_USER, "MES_WAREHOUSE": "duckdb"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mes_assets.dashboard", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"dashboard exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dashboard did not answer on {url}:\n{log.read_text()}")
            time.sleep(0.3)
        yield Server(url, folder, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ensure_chromium() -> str | None:
    """None when Chromium and chromedriver are usable, else why not (after trying to install them)."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    script = REPO_ROOT / "scripts" / "setup-chromium.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return (
            f"scripts/setup-chromium.sh could not install chromium + chromium-driver "
            f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}"
        )
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by the Debian chromedriver (no browser downloads)."""
    reason = _ensure_chromium()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1500,1300",
        "--disable-extensions",
        "--no-first-run",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    SCREENSHOTS.append(path)
    print(f"screenshot: {path}")
    return path
