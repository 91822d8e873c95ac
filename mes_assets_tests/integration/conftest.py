"""Integration fixtures: one bqemulator process per test session, wired to a BigQueryBackend.

The emulator runs under its own virtualenv (``.venv-bqemulator``, made by
``scripts/setup-bqemulator.sh``). Without it the emulator tests are skipped locally, but fail when
``CI=true`` or ``MES_REQUIRE_EMULATOR=1``, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mes_assets.warehouse.bigquery_backend import BigQueryBackend

REPO_ROOT = Path(__file__).resolve().parents[2]
EMULATOR_VENV = REPO_ROOT / ".venv-bqemulator"
EMULATOR_PYTHON = EMULATOR_VENV / "bin" / "python"
LAUNCHER = Path(__file__).resolve().parent / "bqemulator_launcher.py"
SETUP_SCRIPT = "scripts/setup-bqemulator.sh"
EMULATOR_PROJECT = "test"
START_TIMEOUT_S = 60.0


def emulator_required() -> bool:
    """CI (and anyone who asks) must run the emulator tests, never skip them."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("MES_REQUIRE_EMULATOR") == "1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, limit: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no emulator log: {exc})"
    return text[-limit:] if text else "(emulator log is empty)"


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def bigquery_emulator(
    tmp_path_factory: pytest.TempPathFactory,
    record_testsuite_property,
) -> Iterator[BigQueryBackend]:
    """A BigQueryBackend(project="test") talking to a bqemulator started for this session."""
    if not EMULATOR_PYTHON.exists():
        message = f"BigQuery emulator venv {EMULATOR_VENV} not found; create it with `bash {SETUP_SCRIPT}`"
        if emulator_required():
            pytest.fail(message + " (required: CI=true or MES_REQUIRE_EMULATOR=1)", pytrace=False)
        pytest.skip(message)

    rest_port, grpc_port = _free_port(), _free_port()
    while grpc_port == rest_port:
        grpc_port = _free_port()
    log_path = tmp_path_factory.mktemp("bqemulator") / "emulator.log"
    command = [
        str(EMULATOR_PYTHON),
        str(LAUNCHER),
        "--rest-port",
        str(rest_port),
        "--grpc-port",
        str(grpc_port),
        "--project",
        EMULATOR_PROJECT,
        "--ephemeral",
        "--log-level",
        "warning",
    ]
    # The emulator's own settings come from the command line only (no stray BQEMU_* from the shell).
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("BQEMU_")
    }
    env["MES_BQEMULATOR_PARENT_PID"] = str(os.getpid())
    ready_url = f"http://127.0.0.1:{rest_port}/bigquery/v2/projects/{EMULATOR_PROJECT}/datasets"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO_ROOT
        )
    patch = pytest.MonkeyPatch()
    try:
        while not _answers(ready_url):
            if process.poll() is not None:
                pytest.fail(
                    f"bqemulator exited with code {process.returncode} before answering on port "
                    f"{rest_port}; command: {command}\n--- emulator log ---\n{_log_tail(log_path)}",
                    pytrace=False,
                )
            if time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(
                    f"bqemulator did not answer {ready_url} within {START_TIMEOUT_S:.0f} s; "
                    f"command: {command}\n--- emulator log ---\n{_log_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.1)
        start_s = time.monotonic() - started
        record_testsuite_property("bqemulator_start_s", f"{start_s:.2f}")
        sys.stderr.write(f"\nbqemulator answered on 127.0.0.1:{rest_port} after {start_s:.2f} s\n")

        import google.cloud.bigquery.client as bigquery_client

        patch.setenv("BIGQUERY_EMULATOR_HOST", f"http://127.0.0.1:{rest_port}")
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
        patch.setenv("NO_PROXY", no_proxy)
        # The emulator's multipart upload is broken; size 0 makes every load a resumable upload.
        patch.setattr(bigquery_client, "_MAX_MULTIPART_SIZE", 0)
        yield BigQueryBackend(project=EMULATOR_PROJECT)
    finally:
        patch.undo()
        _stop(process)
