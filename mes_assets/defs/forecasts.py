"""Pinball bands, SHAP values and force lines of the walk-forward XGBoost quantile model."""

import dagster as dg
import polars as pl

from mes_assets.defs._slices import calibrated_spec, family_asset, family_key, instrument_warehouse, now_utc
from mes_assets.defs.market_data import bars_asset_name
from mes_assets.defs.partitions import partition_dates, trading_day_partitions
from mes_assets.features.intraday import intraday_features
from mes_assets.forecast.model_health import model_health, realised_outcomes
from mes_assets.forecast.tables import forecast_tables, intraday_forecast_tables
from mes_assets.horizons import horizon as horizon_of
from mes_assets.instruments import InstrumentSpec
from mes_assets.levels.fibonacci import RTH_BARS_SQL
from mes_assets.market.calendars import exchange_sessions
from mes_assets.warehouse.queries import query
from mes_assets.warehouse.sql_files import read_sql

HEALTH_TABLE = "predictions.model_metrics"
TABLES = {
    "pinball_bands": "predictions.quantiles",
    "shap_values": "explainability.shap_values",
    "force_lines": "explainability.force_lines",
    "model_registry": "predictions.model_registry",
}


def _intraday_inputs(spec: InstrumentSpec) -> list[dg.AssetKey]:
    """Intraday horizons also read the five-minute bars and the calibrated zig-zag k."""
    if not any(horizon_of(h).is_intraday for h in spec.mc_horizons):
        return []
    return [family_key(spec, bars_asset_name(spec)), family_key(spec, "zigzag_calibration")]


def build_forecast_assets(spec: InstrumentSpec, features_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    keys = {name: dg.AssetKey([spec.key_prefix, name]) for name in TABLES}

    @dg.multi_asset(
        name=f"{spec.key_prefix}_quantile_model",
        specs=[
            dg.AssetSpec(
                key,
                deps=[features_asset, *_intraday_inputs(spec)],
                group_name=spec.key_prefix,
                kinds={"bigquery", "xgboost"},
                description=f"{spec.symbol}: {TABLES[name]}",
            )
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
            query("master_features_through"),
            {"symbol": spec.symbol, "end_date": end},
        )
        frames: dict[str, list[pl.DataFrame]] = {name: [] for name in TABLES}
        crossing = {}
        stamp = now_utc()
        origins = None
        if any(horizon_of(h).is_intraday for h in spec.mc_horizons):
            bars = warehouse.read(
                read_sql(RTH_BARS_SQL["5m"]), {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
            )
            k = calibrated_spec(spec, warehouse).zigzag_k
            sessions = exchange_sessions(spec, spec.history_start, end)["date"].to_list()
            origins = intraday_features(bars, features, k, sessions) if bars.height else None
        for horizon in spec.mc_horizons:
            if not horizon_of(horizon).is_intraday and not features.is_empty():
                out = forecast_tables(spec.symbol, horizon, features, start, end, stamp)
            elif horizon_of(horizon).is_intraday and origins is not None:
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
                metadata={
                    "table": table,
                    "dagster/row_count": frame.height,
                    "horizons": ", ".join(crossing) or "none (no features or bars yet)",
                    "crossing_rate_before_repair": str(crossing),
                },
            )

    return _model


def build_model_health_asset(spec: InstrumentSpec, forecasts: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "model_health",
        kinds={"bigquery", "polars"},
        deps=[family_key(spec, "pinball_bands")],
        description=f"{spec.symbol} rolling 60-forecast band coverage, pinball loss and Kupiec test.",
    )
    def _health(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        bands = warehouse.read(
            query("quantiles_through"),
            {"symbol": spec.symbol, "end_date": end},
        )
        closes = warehouse.read(
            query("master_features_closes_through"),
            {"symbol": spec.symbol, "end_date": end},
        )
        bar_closes = None
        if any(horizon_of(h).is_intraday for h in spec.mc_horizons):
            bar_closes = warehouse.read(
                read_sql(RTH_BARS_SQL["5m"]), {"symbol": spec.symbol, "start_date": spec.history_start, "end_date": end}
            ).select("bar_end", "close")
        days = [d for d in closes["date"].to_list() if start <= d <= end]  # sessions with data
        realised = realised_outcomes(bands, closes, bar_closes) if bands.height else bands
        rows = model_health(spec.symbol, realised, days, now_utc()) if realised.height else pl.DataFrame()
        warehouse.replace_slice(HEALTH_TABLE, rows, start=start, end=end, symbol=spec.symbol)
        latest = rows.sort("date").group_by("horizon").last() if rows.height else pl.DataFrame()
        return dg.MaterializeResult(
            metadata={
                "table": HEALTH_TABLE,
                "dagster/row_count": rows.height,
                **{f"coverage_80_{r['horizon']}": round(r["coverage_80"], 3) for r in latest.iter_rows(named=True)},
                **{f"kupiec_p_{r['horizon']}": round(r["kupiec_p_value"], 4) for r in latest.iter_rows(named=True)},
            }
        )

    return _health
