"""backtesting.mc_calibration: out-of-sample Brier/reliability backtest of the tap probabilities."""

import os

import dagster as dg
import polars as pl

from mes_assets.defs._slices import family_key, instrument_warehouse, now_utc
from mes_assets.horizons import horizon
from mes_assets.instruments import InstrumentSpec
from mes_assets.levels.fibonacci import RTH_BARS_SQL
from mes_assets.market.calendars import exchange_sessions
from mes_assets.montecarlo.backtest import BacktestInputs, backtest_rows
from mes_assets.warehouse.queries import query
from mes_assets.warehouse.sql_files import read_sql

TABLE = "backtesting.mc_calibration"
ORIGIN_GRIDS = (5, 1)


class MonteCarloBacktestConfig(dg.Config):
    """Launchpad config of the backtest (MES only; the daily ZL backtest has one grid)."""

    origin_minutes: int = 5
    """MES origin grid: 5 (the five-minute forecast grid, default) or 1 (every RTH minute: about
    five times the origins; where no five-minute forecast exists the zero-drift normal is used)."""


def read_backtest_inputs(warehouse, spec: InstrumentSpec, end, bar_minutes: int = 5) -> BacktestInputs:
    """Everything the backtest reads, one query per table; ``bar_minutes`` (5 or 1) is the MES origin grid."""
    params = {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
    intraday = any(horizon(h).is_intraday for h in spec.mc_horizons)
    bars = warehouse.read(read_sql(RTH_BARS_SQL[f"{bar_minutes}m" if intraday else "1d"]), params)
    return BacktestInputs(
        symbol=spec.symbol,
        bars=bars,
        intraday=intraday,
        bar_minutes=bar_minutes,
        fib=warehouse.read(query("fib_levels_between"), params),
        drivers=warehouse.read(query("master_features_vol_between"), params),
        forecasts=warehouse.read(query("quantiles_between"), params),
    )


def build_mc_calibration_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @dg.asset(
        name="mc_calibration",
        key_prefix=[spec.key_prefix],
        group_name=spec.key_prefix,
        deps=[family_key(spec, n) for n in ("fib_levels", "master_features", "pinball_bands")],
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
        kinds={"bigquery", "numba"},
        description=f"{spec.symbol} MC tap-probability backtest on the recorded history (Brier, reliability, "
        "slope vs a closed-form baseline) and the chosen VIX/realized weight.",
    )
    def _mc_calibration(context: dg.AssetExecutionContext, config: MonteCarloBacktestConfig) -> dg.MaterializeResult:
        if config.origin_minutes not in ORIGIN_GRIDS:
            raise dg.Failure(f"origin_minutes must be one of {ORIGIN_GRIDS}, got {config.origin_minutes}")
        warehouse = instrument_warehouse(context, spec)
        end = now_utc().date()
        inputs = read_backtest_inputs(warehouse, spec, end, bar_minutes=config.origin_minutes)
        if inputs.bars.is_empty() or inputs.fib.is_empty():
            raise dg.Failure(f"no {spec.symbol} bars or fib levels stored yet: materialize them first")
        sessions = exchange_sessions(spec, spec.history_start, end)["date"].to_list()
        stamp = now_utc()
        # the backtest is one unpartitioned step with the machine to itself: every core
        rows = [backtest_rows(inputs, h, sessions, stamp, n_threads=os.cpu_count() or 1) for h in spec.mc_horizons]
        frame = pl.DataFrame([r for r in rows if r["date"] is not None]).drop(
            "n_skipped_no_vol", "reason", strict=False
        )
        for day in sorted(set(frame["date"])) if frame.height else []:
            warehouse.replace_slice(TABLE, frame.filter(pl.col("date") == day), start=day, end=day, symbol=spec.symbol)
        metadata: dict = {
            "table": TABLE,
            "dagster/row_count": frame.height,
            "origin_grid": f"{config.origin_minutes}-minute" if inputs.intraday else "daily",
        }
        for r in rows:
            h = r["horizon"]
            metadata[f"{h}_status"] = r["status"]
            if r.get("brier_model") is not None:
                metadata[f"{h}_brier_model_vs_baseline"] = f"{r['brier_model']:.4f} vs {r['brier_baseline']:.4f}"
                metadata[f"{h}_calibration_slope"] = round(r["calibration_slope"], 3)
                metadata[f"{h}_vix_weight"] = str(r["vix_weight"])
                metadata[f"{h}_origins"] = f"{r['n_origins']} ({r['n_forecasts']} origin-levels, "
                metadata[f"{h}_origins"] += f"{r['n_skipped_no_vol']} skipped without VIX or realized vol)"
        return dg.MaterializeResult(metadata=metadata)

    return _mc_calibration
