"""`mes-assets` command line: `demo`, `backtest mc|checklist` and `dashboard [--mes]`."""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import dagster as dg
import polars as pl
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from mes_assets.defs.jobs import CALIBRATION_JOB, DRIVERS_JOB, HIT_RATE_JOB, MC_CALIBRATION_JOB, instrument_job_name
from mes_assets.defs.market_data import bars_asset_name
from mes_assets.instruments import INSTRUMENTS, InstrumentSpec
from mes_assets.market.calendars import trading_dates_covering
from mes_assets.sources.data_dir import REPO_ROOT
from mes_assets.warehouse.queries import query

# Console logs at WARNING: a range run emits one event per partition and asset.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def sample_windows(spec: InstrumentSpec, definitions: dg.Definitions) -> list[tuple[dt.date, dt.date]]:
    """Trading-date ranges of the recorded real bars this deployment replays (one per recording)."""
    source = (definitions.resources or {})["recorded_data"].market_data()
    if spec.bar_frequency == "1m":
        windows = [
            trading_dates_covering(spec, first, last) for first, last in source.minute_coverage(spec.source_symbol)
        ]
        return sorted(w for w in windows if w is not None)
    bars = source.daily_bars(spec.source_symbol, spec.history_start, dt.date.today())
    return [(bars["date"].min(), bars["date"].max())]


def run_range(
    definitions: dg.Definitions,
    job_name: str,
    start: dt.date,
    end: dt.date,
    instance: dg.DagsterInstance,
    assets: list[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run over the whole partition range (the assets' single-run backfill policy)."""
    job = definitions.resolve_job_def(job_name)
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: _first_weekday(start).isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: _last_weekday(end).isoformat(),
    }
    selection = [dg.AssetKey.from_user_string(a) for a in assets] if assets else None
    return job.execute_in_process(instance=instance, tags=tags, run_config=QUIET, asset_selection=selection)


def _last_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def _first_weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def print_ladder(definitions: dg.Definitions, spec: InstrumentSpec) -> None:
    warehouse = (definitions.resources or {})[spec.warehouse_key].get_backend()
    counts = warehouse.read(query("fib_levels_coverage"), {"symbol": spec.symbol}).row(0, named=True)
    latest = warehouse.read(
        query("fib_levels_latest"),
        {"symbol": spec.symbol},
    )
    print(f"\n== {spec.symbol} ({spec.description}; bars: {spec.price_source}; warehouse: {spec.audience}) ==")
    print(f"signals.fib_levels rows: {counts['n']} ({counts['first_date']}..{counts['last_date']})")
    if latest.is_empty():
        print("no confirmed leg in the sample")
        return
    row = latest.row(0, named=True)
    origin, end = (
        (row["anchor_low"], row["anchor_high"]) if row["leg_dir"] == "up" else (row["anchor_high"], row["anchor_low"])
    )
    print(
        f"last confirmed leg as of {row['date']}: {row['leg_dir']} {origin} -> {end} "
        f"({row['leg_start_time']} -> {row['leg_end_time']}, confirmed {row['confirmed_at']}, "
        f"k={row['zigzag_k']:g} x ATR14={row['atr_at_confirm']:.4f})"
    )
    print(f"  k source: {row['zigzag_calibration_version'] or 'documented default (uncalibrated)'}")
    for column in ("ext_1618", "ext_1272", "fib_236", "fib_382", "fib_500", "fib_618", "fib_786"):
        print(f"  {column:9s} {row[column]:>12}")
    print(f"  tick      {row['tick_rounding']:>12}")
    curve = warehouse.read(
        query("zigzag_calibration_latest_curve"),
        {"symbol": spec.symbol},
    )
    if not curve.is_empty():
        print(f"  zig-zag calibration ({curve['status'][0]}; horizon {spec.calibration_horizon_bars} bars):")
        print("    k     swings  evaluated  false-signal rate  mean lag (bars)")
        for r in curve.iter_rows(named=True):
            mark = "  <- chosen" if r["is_chosen"] else ""
            rate = "n/a" if r["false_signal_rate"] is None else f"{r['false_signal_rate']:.3f}"
            lag = "n/a" if r["mean_lag_bars"] is None else f"{r['mean_lag_bars']:.2f}"
            print(f"    {r['k']:<5g} {r['n_pivots']:>6} {r['n_evaluated']:>10} {rate:>18} {lag:>16}{mark}")


def _run_in_worker(
    job_name: str, first: dt.date | None, last: dt.date | None, assets: list[str] | None
) -> tuple[str, bool, float]:
    """Process-pool entry point: one run against this repository's Dagster instance."""
    from mes_assets.definitions import defs

    t0 = time.perf_counter()
    instance = dg.DagsterInstance.get()
    if first is None or last is None:
        result = defs.resolve_job_def(job_name).execute_in_process(instance=instance, run_config=QUIET)
    else:
        result = run_range(defs, job_name, first, last, instance, assets)
    return result.run_id, result.success, time.perf_counter() - t0


def _run_phase(pool: ProcessPoolExecutor, steps: list[tuple]) -> bool:
    """Run independent steps two at a time; print one line each; False if any failed."""
    futures = {pool.submit(_run_in_worker, *step[1:]): step for step in steps}
    ok = True
    for future in as_completed(futures):
        label, job_name, first, last, _ = futures[future]
        run_id, success, seconds = future.result()
        span = f"{first}..{last}" if first else "whole history"
        state = "ok" if success else "FAILED (see `make ui`)"
        print(f"{label:24s} {span:22s} one run {seconds:6.1f} s  run {run_id[:8]} {state}", flush=True)
        ok &= success
    return ok


MODEL_ASSETS = ["pinball_bands", "shap_values", "force_lines", "model_registry"]


def demo(with_drivers: bool = False) -> int:
    from mes_assets.definitions import defs

    started = time.perf_counter()
    if not _backfill_sample(defs, with_drivers=with_drivers):
        return 1
    for spec in INSTRUMENTS:
        print_ladder(defs, spec)
    print(
        f"\ndemo wall time {time.perf_counter() - started:.1f} s. Browse the runs, partitions and "
        "asset metadata with `make ui`."
    )
    return 0


def backtest_mc() -> int:
    """Backfill what the backtest reads (drivers, features, forecasts), run it, print its scores."""
    from mes_assets.definitions import defs

    started = time.perf_counter()
    extra = [["master_features"], MODEL_ASSETS]
    if not _backfill_sample(defs, with_drivers=True, extra_phases=extra, final=MC_CALIBRATION_JOB):
        return 1
    cols = [
        "horizon",
        "status",
        "vix_weight",
        "n_origins",
        "n_forecasts",
        "brier_model",
        "brier_baseline",
        "brier_skill",
        "calibration_slope",
        "baseline_slope",
        "base_rate",
        "elapsed_s",
    ]
    for spec in INSTRUMENTS:
        warehouse = (defs.resources or {})[spec.warehouse_key].get_backend()
        rows = warehouse.read(query("mc_calibration_runs"), {"symbol": spec.symbol})
        print(f"\n{spec.symbol} ({spec.audience} warehouse) tap-probability backtest, latest run:")
        print(rows.unique("horizon", keep="first", maintain_order=True).select(cols) if rows.height else "  no rows")
    print(f"\nbacktest wall time {time.perf_counter() - started:.1f} s")
    return 0


def backtest_checklist() -> int:
    """Backfill the checklist over the sample (needs drivers, features, forecasts, health, regime),
    then score it against an equal-time buyer and print the hit-rate per decision class."""
    from mes_assets.definitions import defs

    started = time.perf_counter()
    extra = [["master_features"], MODEL_ASSETS, ["model_health", "regime_state"], ["entry_checklist"]]
    if not _backfill_sample(defs, with_drivers=True, extra_phases=extra, final=HIT_RATE_JOB):
        return 1
    for spec in INSTRUMENTS:
        if spec.audience != "shared":
            continue
        rows = (
            (defs.resources or {})[spec.warehouse_key]
            .get_backend()
            .read(query("checklist_hit_rate_runs"), {"symbol": spec.symbol})
        )
        print(f"\n{spec.symbol} checklist hit-rate (cost on the decision day vs an equal-time buyer over 21 sessions):")
        print(
            rows.unique("verdict", keep="first", maintain_order=True).select(
                "verdict",
                "n_decisions",
                "n_unscored",
                "mean_cost",
                "mean_equal_time_cost",
                "mean_diff_bps",
                "share_cheaper",
            )
        )
    print(f"\nbacktest wall time {time.perf_counter() - started:.1f} s")
    return 0


def _backfill_sample(
    definitions: dg.Definitions, *, with_drivers: bool, extra_phases: list | None = None, final: str | None = None
) -> bool:
    """Ingest -> k calibration -> fib levels (-> each extra phase of family assets -> final job)."""
    defs = definitions
    # Create the instance's storage here, once: two workers migrating a fresh SQLite store race.
    dg.DagsterInstance.get().get_runs_count()
    windows = {spec.symbol: sample_windows(spec, defs) for spec in INSTRUMENTS}
    everything = [w for ws in windows.values() for w in ws]

    def family(spec, names):
        return [
            (
                f"{spec.symbol} {'+'.join(names)}",
                instrument_job_name(spec),
                a,
                b,
                [f"{spec.key_prefix}/{n}" for n in names],
            )
            for a, b in windows[spec.symbol]
        ]

    ingest = []
    if with_drivers:  # FRED + COT for every sample date (~2,000 partition events, ~2 minutes)
        ingest.append(("drivers", DRIVERS_JOB, min(w[0] for w in everything), max(w[1] for w in everything), None))
    for spec in INSTRUMENTS:
        ingest += family(spec, ["exchange_sessions", bars_asset_name(spec)])
    Step = tuple[Any, ...]  # (label, job, first date, last date, asset selection)
    phases: list[list[Step]] = [
        ingest,  # recorded data in, every date of the sample
        [("zig-zag k calibration", CALIBRATION_JOB, None, None, None)],
        [step for spec in INSTRUMENTS for step in family(spec, ["fib_levels"])],
    ]
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    phases += [
        [
            step
            for spec in INSTRUMENTS
            for step in family(spec, names)
            if all(f"{spec.key_prefix}/{n}" in keys for n in names)
        ]
        for names in extra_phases or []
    ]
    if final:
        phases.append([(final, final, None, None, None)])
    # Runs inside a phase are independent, so two run at a time (one per core), as two
    # `dagster dev` run workers would; DuckDB writers queue on the file lock.
    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as pool:
        for phase in phases:
            if not _run_phase(pool, phase):
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    # The repository's dagster.yaml is the instance config (what `make ui` shows), also when the
    # command is run without make.
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    parser = argparse.ArgumentParser(prog="mes-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="backfill the real sample on the embedded warehouse and print it")
    demo_parser.add_argument(
        "--with-drivers", action="store_true", help="also backfill the shared FRED/COT drivers over the sample dates"
    )
    backtest_parser = sub.add_parser("backtest", help="out-of-sample backtests on the recorded history")
    backtest_parser.add_argument(
        "what",
        choices=["mc", "checklist"],
        help="mc: Monte-Carlo tap probabilities (Brier, reliability); "
        "checklist: procurement cost per verdict vs an equal-time buyer",
    )
    dash_parser = sub.add_parser("dashboard", help="serve the procurement dashboard (or --mes, the private cockpit)")
    dash_parser.add_argument("--mes", action="store_true", help="the private MES cockpit instead of ZL")
    dash_parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    pl.Config.set_tbl_cols(20)
    if args.command == "dashboard":
        from mes_assets.dashboard.app import main as dashboard_main

        return dashboard_main((["--mes"] if args.mes else []) + ([f"--port={args.port}"] if args.port else []))
    if args.command == "demo":
        return demo(with_drivers=args.with_drivers)
    if args.command == "backtest":
        return backtest_mc() if args.what == "mc" else backtest_checklist()
    return 2


if __name__ == "__main__":
    sys.exit(main())
