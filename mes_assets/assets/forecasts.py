"""Pinball bands, SHAP values and force lines of the walk-forward XGBoost quantile model."""

import dagster as dg
import polars as pl

from mes_assets.assets._slices import family_asset, family_key, instrument_warehouse, now_utc
from mes_assets.assets.market_data import bars_asset_name
from mes_assets.calendars import exchange_sessions
from mes_assets.calibration import calibrated_spec
from mes_assets.fibonacci import RTH_BARS_SQL
from mes_assets.forecasts import HORIZON_SESSIONS, forecast_tables, intraday_forecast_tables
from mes_assets.intraday_features import INTRADAY_HORIZON_BARS, intraday_features
from mes_assets.warehouse.sql_files import read_sql
from mes_assets.model_health import model_health, realised_outcomes
from mes_assets.instruments import InstrumentSpec
from mes_assets.partitions import partition_dates, trading_day_partitions

HEALTH_TABLE = "predictions.model_metrics"
TABLES = {
    "pinball_bands": "predictions.quantiles",
    "shap_values": "explainability.shap_values",
    "force_lines": "explainability.force_lines",
    "model_registry": "predictions.model_registry",
}


def _intraday_inputs(spec: InstrumentSpec) -> list[dg.AssetKey]:
    """Intraday horizons also read the five-minute bars and the calibrated zig-zag k."""
    if not any(h in INTRADAY_HORIZON_BARS for h in spec.mc_horizons):
        return []
    return [family_key(spec, bars_asset_name(spec)), family_key(spec, "zigzag_calibration")]


def build_forecast_assets(spec: InstrumentSpec, features_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    keys = {name: dg.AssetKey([spec.key_prefix, name]) for name in TABLES}

    @dg.multi_asset(
        name=f"{spec.key_prefix}_quantile_model",
        specs=[
            dg.AssetSpec(key, deps=[features_asset, *_intraday_inputs(spec)], group_name=spec.key_prefix,
                         kinds={"bigquery", "xgboost"}, description=f"{spec.symbol}: {TABLES[name]}")
            for name, key in keys.items()
        ],
        partitions_def=trading_day_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        required_resource_keys={spec.warehouse_key},
        pool="warehouse",
    )
    def _model(context: dg.AssetExecutionContext):
        """Walk-forward XGBoost quantile model (P10..P90) per horizon, TreeSHAP of the P50."""
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        features = warehouse.read(
            "SELECT * FROM features.master_features WHERE symbol = @symbol AND date <= @end_date "
            "ORDER BY date", {"symbol": spec.symbol, "end_date": end},
        )
        frames = {name: [] for name in TABLES}
        crossing = {}
        stamp = now_utc()
        origins = None
        if any(h in INTRADAY_HORIZON_BARS for h in spec.mc_horizons):
            bars = warehouse.read(read_sql(RTH_BARS_SQL["5m"]), {
                "symbol": spec.symbol, "start_date": spec.history_start, "end_date": end})
            k = calibrated_spec(spec, warehouse).zigzag_k
            sessions = exchange_sessions(spec, spec.history_start, end)["date"].to_list()
            origins = intraday_features(bars, features, k, sessions) if bars.height else None
        for horizon in spec.mc_horizons:
            if horizon in HORIZON_SESSIONS and not features.is_empty():
                out = forecast_tables(spec.symbol, horizon, features, start, end, stamp)
            elif horizon in INTRADAY_HORIZON_BARS and origins is not None:
                out = intraday_forecast_tables(spec.symbol, horizon, origins, start, end, stamp)
            else:
                continue
            frames["pinball_bands"].append(out.quantiles)
            frames["shap_values"].append(out.shap_values)
            frames["force_lines"].append(out.force_lines)
            frames["model_registry"].append(out.registry)
            crossing[horizon] = round(out.crossing_rate, 4)
        for name, table in TABLES.items():
            frame = pl.concat(frames[name]) if frames[name] else pl.DataFrame()
            warehouse.replace_slice(table, frame, start=start, end=end, symbol=spec.symbol)
            yield dg.MaterializeResult(
                asset_key=keys[name],
                metadata={"table": table, "dagster/row_count": frame.height,
                          "horizons": ", ".join(crossing) or "none (no features or bars yet)",
                          "crossing_rate_before_repair": str(crossing)},
            )

    return _model


def build_model_health_asset(spec: InstrumentSpec, forecasts: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @family_asset(
        spec, "model_health", kinds={"bigquery", "polars"},
        deps=[family_key(spec, "pinball_bands")],
        description=f"{spec.symbol} rolling 60-forecast band coverage, pinball loss and Kupiec test.",
    )
    def _health(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        bands = warehouse.read(
            "SELECT * FROM predictions.quantiles WHERE symbol = @symbol AND date <= @end_date",
            {"symbol": spec.symbol, "end_date": end},
        )
        closes = warehouse.read(
            "SELECT date, close FROM features.master_features WHERE symbol = @symbol AND date <= @end_date",
            {"symbol": spec.symbol, "end_date": end},
        )
        bar_closes = None
        if any(h in INTRADAY_HORIZON_BARS for h in spec.mc_horizons):
            bar_closes = warehouse.read(read_sql(RTH_BARS_SQL["5m"]), {
                "symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}).select("bar_end", "close")
        days = [d for d in closes["date"].to_list() if start <= d <= end]  # sessions with data
        realised = realised_outcomes(bands, closes, bar_closes) if bands.height else bands
        rows = model_health(spec.symbol, realised, days, now_utc()) if realised.height else pl.DataFrame()
        warehouse.replace_slice(HEALTH_TABLE, rows, start=start, end=end, symbol=spec.symbol)
        latest = rows.sort("date").group_by("horizon").last() if rows.height else pl.DataFrame()
        return dg.MaterializeResult(metadata={
            "table": HEALTH_TABLE, "dagster/row_count": rows.height,
            **{f"coverage_80_{r['horizon']}": round(r["coverage_80"], 3) for r in latest.iter_rows(named=True)},
            **{f"kupiec_p_{r['horizon']}": round(r["kupiec_p_value"], 4) for r in latest.iter_rows(named=True)},
        })

    return _health
