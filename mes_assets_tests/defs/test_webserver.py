"""`make ui` works: the Dagster webserver loads workspace.yaml and serves both families."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QUERY = "{ assetNodes { assetKey { path } groupName isPartitioned } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_webserver_serves_both_instrument_families(tmp_path):
    port = _free_port()
    # the repository's dagster.yaml (what `make ui` uses), its storage moved under tmp_path
    (tmp_path / "dagster.yaml").write_text(
        (REPO / "dagster.yaml").read_text().replace(".dagster/", f"{tmp_path}/.dagster/")
    )
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": str(Path(sys.executable).parent)}
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, nodes = time.monotonic() + 120, None
        while time.monotonic() < deadline and nodes is None:
            if server.poll() is not None:
                pytest.fail(f"webserver exited: {server.stdout.read()}")
            try:
                data = _graphql(port, QUERY)["data"]["assetNodes"]
                nodes = data or None
            except OSError:
                time.sleep(1)
        assert nodes, "webserver did not serve the asset graph in time"
        groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert groups["zl/fib_levels"] == "zl" and groups["mes/fib_levels"] == "mes"
        assert groups["drivers/fred_sentiment_daily"] == "drivers"
        whole_history = ("calibration", "hit_rate")  # unpartitioned by design: they span the history
        assert all(n["isPartitioned"] for n in nodes if not any(w in str(n["assetKey"]) for w in whole_history))
        assert groups["zl/zigzag_calibration"] == "zl"
        info = _graphql(port, "{ instance { info } }")["data"]["instance"]["info"]
        assert "TunedSqliteEventLogStorage" in info  # the UI's instance writes through the tuned event log
    finally:
        server.terminate()
        server.wait(30)
