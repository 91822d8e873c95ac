"""Timed single-run backfills on a fresh embedded warehouse: ``python -m benchmarks.backfill``.

Sections (each in its own process, so each peak RSS is its own; ``all`` runs the three in turn):

``zl``
    ZL, one year (2024-01-02..2024-12-31), every ZL asset, each asset group one single-run backfill
    over the year (the history the model needs is ingested first and timed separately as inputs).
``mes-month``
    MES, one calendar month (February 2023, 19 sessions) of every MES asset in one single-run
    backfill, on the real FirstRate ES month in ``benchmarks/data`` (see its PROVENANCE.md; December
    and January are ingested first as inputs). Uses ``MES_HISTORY_START_MES=2022-12-19``.
``backtest``
    The Monte-Carlo tap-probability backtest over the full ES sample (the month file plus the
    shared 2023-09 and 2025-04 windows, 90 sessions): inputs backfilled first, then the backtest
    timed on the five-minute origin grid (what ``mes-assets backtest mc`` scores) and on the
    one-minute grid (every RTH minute, three horizons).

``--stock-storage`` runs on Dagster's stock SQLite storage instead of the repository's tuned one
(``mes_assets/instance/storage.py``), for the before/after. Prints wall time per step and the peak
RSS of the section's process (the runs execute in process, so the figures are what one Dagster run
worker sees). Writes only under a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

D = dt.date
HERE = Path(__file__).resolve().parent
MONTH_FILE = HERE / "data" / "futures_1m" / "es_1m_firstrate_2022-12_2023-03.csv.gz"
# The shared two-week 2023-03 file is byte-identical to part of the month file (PROVENANCE.md):
# keeping both would replay every one of its minutes twice.
SUPERSEDED = "es_1m_firstrate_2023-03.csv"
MONTH_HISTORY_START = "2022-12-19"
SECTIONS = ("zl", "mes-month", "backtest")

MES_ASSETS = [
    "mes/exchange_sessions",
    "mes/futures_ohlcv_1m",
    "mes/master_features",
    "mes/fib_levels",
    "mes/pinball_bands",
    "mes/shap_values",
    "mes/force_lines",
    "mes/model_registry",
    "mes/model_health",
    "mes/regime_state",
    "mes/shap_stability",
    "mes/options_oi_raw",
    "mes/gex_surface",
    "mes/gamma_summary",
    "mes/mc_touches",
]
MES_INPUTS = ["mes/exchange_sessions", "mes/futures_ohlcv_1m", "mes/master_features", "mes/fib_levels"]
MES_MODEL = ["mes/pinball_bands", "mes/shap_values", "mes/force_lines", "mes/model_registry"]


def _storage(kind: str, base_dir: Path) -> dict:
    """Instance storage overrides: the repository's tuned SQLite storage (dagster.yaml) or Dagster's stock one."""
    if kind == "stock":
        return {"storage": {"sqlite": {"base_dir": str(base_dir)}}}
    return {
        "storage": {
            "custom": {
                "module": "mes_assets.instance.storage",
                "class": "TunedSqliteStorage",
                "config": {"base_dir": str(base_dir)},
            }
        }
    }


def extended_data_root(shared: Path, into: Path) -> Path:
    """The shared data root with the ES month file in place of the two-week 2023-03 file (links, one copy)."""
    root = into / "data"
    (root / "futures_1m").mkdir(parents=True)
    for entry in shared.iterdir():
        if entry.name != "futures_1m":
            (root / entry.name).symlink_to(entry)
    for entry in (shared / "futures_1m").iterdir():
        if entry.name != SUPERSEDED:
            (root / "futures_1m" / entry.name).symlink_to(entry)
    with (
        gzip.open(MONTH_FILE, "rb") as src,
        (root / "futures_1m" / MONTH_FILE.name.removesuffix(".gz")).open("wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    return root


class _Runner:
    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance = defs, instance

    def run(self, label: str, job: str, start: dt.date, end: dt.date, assets: list[str] | None = None) -> float:
        from mes_assets.cli import QUIET

        tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        }
        selection = None if assets is None else [dg.AssetKey.from_user_string(a) for a in assets]
        t0 = time.perf_counter()
        result = self.defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, tags=tags, run_config=QUIET, asset_selection=selection
        )
        if not result.success:
            raise SystemExit(f"{job} {assets} failed")
        seconds = time.perf_counter() - t0
        print(f"| {label} | {seconds:.1f} s |", flush=True)
        return seconds


def _zl(run: _Runner) -> None:
    run.run("inputs: drivers 2021-12..2024-12", "drivers_job", D(2021, 12, 15), D(2024, 12, 31))
    run.run(
        "inputs: ZL history ingest 2021-12..2023-12",
        "zl_job",
        D(2021, 12, 15),
        D(2023, 12, 29),
        ["zl/exchange_sessions", "zl/futures_ohlcv_1d"],
    )
    year = D(2024, 1, 2), D(2024, 12, 31)
    total = run.run("ZL year: sessions + bars", "zl_job", *year, ["zl/exchange_sessions", "zl/futures_ohlcv_1d"])
    total += run.run("ZL year: features + fib", "zl_job", *year, ["zl/master_features", "zl/fib_levels"])
    run.run(
        "inputs: ZL history features (model inputs)", "zl_job", D(2021, 12, 15), D(2023, 12, 29), ["zl/master_features"]
    )
    total += run.run(
        "ZL year: quantile model + SHAP",
        "zl_job",
        *year,
        ["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
    )
    total += run.run(
        "ZL year: health, regime, stability, gamma, MC",
        "zl_job",
        *year,
        [
            "zl/model_health",
            "zl/regime_state",
            "zl/shap_stability",
            "zl/options_oi_raw",
            "zl/gex_surface",
            "zl/gamma_summary",
            "zl/mc_touches",
        ],
    )
    total += run.run("ZL year: checklist", "zl_job", *year, ["zl/entry_checklist"])
    print(f"| **ZL year, every asset** | **{total:.1f} s** |")


def _mes_month(run: _Runner) -> None:
    run.run("inputs: drivers 2022-11..2023-03", "drivers_job", D(2022, 11, 1), D(2023, 3, 31))
    run.run(
        "inputs: MES history 2022-12-19..2023-01-31 (sessions, bars, features, fib)",
        "mes_job",
        D(2022, 12, 19),
        D(2023, 1, 31),
        MES_INPUTS,
    )
    month = D(2023, 2, 1), D(2023, 2, 28)
    run.run("**MES month 2023-02 (19 sessions): every MES asset, one run**", "mes_job", *month, MES_ASSETS)
    warehouse = run.defs.resources["private_warehouse"].get_backend()
    counts = []
    for table in (
        "market_data.databento_futures_ohlcv_1m",
        "signals.fib_levels",
        "predictions.quantiles",
        "explainability.force_lines",
        "backtesting.mc_touches",
        "derivatives.gamma_summary",
    ):
        n = warehouse.read(
            f"SELECT COUNT(*) AS n FROM {table} WHERE date BETWEEN @a AND @b", {"a": month[0], "b": month[1]}
        )["n"][0]
        counts.append(f"{table} {n:,}")
    print(f"\nrows written for 2023-02: {'; '.join(counts)}")


def _backtest(run: _Runner) -> None:
    from mes_assets.defs.mc_calibration import read_backtest_inputs
    from mes_assets.instruments import MES
    from mes_assets.market.calendars import exchange_sessions
    from mes_assets.montecarlo.backtest import backtest_rows

    everything = D(2022, 12, 19), D(2025, 5, 6)
    run.run("inputs: drivers 2022-11..2025-05", "drivers_job", D(2022, 11, 1), everything[1])
    run.run("inputs: MES sessions, bars, features, fib over the full ES sample", "mes_job", *everything, MES_INPUTS)
    run.run("inputs: MES quantile model + SHAP over the full ES sample", "mes_job", *everything, MES_MODEL)
    warehouse = run.defs.resources["private_warehouse"].get_backend()
    sessions = exchange_sessions(MES, MES.history_start, everything[1])["date"].to_list()
    stamp = dt.datetime.now(dt.UTC)
    for bar_minutes in (5, 1):
        t0 = time.perf_counter()
        inputs = read_backtest_inputs(warehouse, MES, everything[1], bar_minutes=bar_minutes)
        read_s = time.perf_counter() - t0
        rows = [backtest_rows(inputs, h, sessions, stamp, n_threads=os.cpu_count() or 1) for h in MES.mc_horizons]
        total = time.perf_counter() - t0
        origins = " / ".join(f"{r['n_origins']:,}" for r in rows)
        briers = " / ".join(f"{r['brier_model']:.4f} vs {r['brier_baseline']:.4f}" for r in rows)
        per_horizon = " / ".join(f"{r['elapsed_s']:.1f}" for r in rows)
        print(
            f"| **MC backtest, {bar_minutes}-minute origin grid, 3 horizons (5m/15m/60m origins {origins})** "
            f"| **{total:.1f} s** (warehouse read {read_s:.1f} s; per horizon {per_horizon} s; "
            f"Brier model vs baseline {briers}) |",
            flush=True,
        )


def _section(name: str, storage: str) -> int:
    from mes_assets.definitions import build_definitions
    from mes_assets.sources.data_dir import resolve_data_dir
    from mes_assets_tests.conftest import make_resources

    tmp = Path(tempfile.mkdtemp(prefix=f"mes-backfill-{name}-"))
    try:
        data_root = resolve_data_dir(None)
        defs = build_definitions(make_resources(tmp / "warehouse", data_root))
        print(f"\n### {name} (Dagster storage: {storage}; data: {data_root})\n\n| step | wall |\n|---|---|", flush=True)
        with dg.instance_for_test(temp_dir=str(tmp), overrides=_storage(storage, tmp / "dagster")) as instance:
            {"zl": _zl, "mes-month": _mes_month, "backtest": _backtest}[name](_Runner(defs, instance))
        print(
            f"\npeak RSS of the {name} process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
            flush=True,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    storage = "stock" if "--stock-storage" in argv else "tuned"
    names = [a for a in argv if not a.startswith("--")] or ["all"]
    if names == ["all"]:
        names = list(SECTIONS)
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        print(f"unknown section(s) {unknown}; have {', '.join(SECTIONS)} or all", file=sys.stderr)
        return 2
    if len(names) == 1 and os.environ.get("MES_BACKFILL_CHILD"):
        return _section(names[0], storage)
    for name in names:  # one process per section: its own peak RSS, its own partitions start
        env = dict(os.environ, MES_BACKFILL_CHILD="1")
        scratch = None
        if name != "zl":
            from mes_assets.sources.data_dir import resolve_data_dir

            scratch = Path(tempfile.mkdtemp(prefix="mes-backfill-data-"))
            env |= {
                "MES_DATA_DIR": str(extended_data_root(resolve_data_dir(None), scratch)),
                "MES_HISTORY_START_MES": MONTH_HISTORY_START,
            }
        try:
            args = [name, "--stock-storage"] if storage == "stock" else [name]
            code = subprocess.run(
                [sys.executable, "-m", "benchmarks.backfill", *args], env=env, cwd=HERE.parent
            ).returncode
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
