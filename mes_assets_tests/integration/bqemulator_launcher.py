"""Start bqemulator (PyPI 1.4.0) offline. Runs under .venv-bqemulator's python, not the project venv.

bqemulator installs and loads DuckDB's spatial extension at start, which needs the network and
fails offline; the project never uses GEOGRAPHY, so that loader is replaced before the CLI runs
(STACK.md). The same hook switches off DuckDB's extension auto-install, and the optional Avro
extension is not requested, so the emulator never reaches for extensions.duckdb.org.

Usage: python bqemulator_launcher.py --rest-port PORT --grpc-port PORT2 --project test [...]
(every argument is passed to ``bqemulator start``). With MES_BQEMULATOR_PARENT_PID set, it exits
when that process is no longer its parent.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path


def _no_extension_downloads(engine: object) -> None:
    """Stand-in for ``DuckDBEngine._load_spatial``: no spatial, and no auto-install of extensions."""
    engine.connection.execute("SET autoinstall_known_extensions = false")  # type: ignore[attr-defined]


def _exit_with_parent(parent_pid: int) -> None:
    """Stop when the process that started us is gone (a killed test run leaves no emulator behind)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> None:
    parent = os.environ.get("MES_BQEMULATOR_PARENT_PID")
    if parent and parent.isdigit():
        _exit_with_parent(int(parent))
    os.environ.setdefault("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")  # Avro: would download

    from bqemulator.cli import main as bqemulator_main
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = _no_extension_downloads  # type: ignore[method-assign]
    bqemulator_main(["start", *argv], prog_name="bqemulator")


if __name__ == "__main__":
    # Run as a script, this file's folder heads sys.path; keep it from shadowing stdlib/bqemulator
    # modules (bqemulator itself has a ``types`` package, so names matter here).
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    main(sys.argv[1:])
