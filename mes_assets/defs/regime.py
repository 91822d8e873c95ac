"""predictions.regime_state: the live two-state regime the checklist's regime check reads."""

import dagster as dg

from mes_assets.defs._slices import family_asset, instrument_warehouse, now_utc, slice_metadata
from mes_assets.defs.partitions import partition_dates
from mes_assets.forecast.regime import regime_states
from mes_assets.instruments import InstrumentSpec
from mes_assets.warehouse.queries import query

TABLE = "predictions.regime_state"


def build_regime_asset(spec: InstrumentSpec, features_asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "regime_state",
        kinds={"bigquery", "numba"},
        deps=[features_asset],
        description=f"{spec.symbol} filtered Markov-switching regime (returns, ln VIX), walk-forward.",
    )
    def _regime(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        features = warehouse.read(
            query("master_features_regime_inputs_through"),
            {"symbol": spec.symbol, "end_date": end},
        )
        rows = regime_states(spec.symbol, features, now_utc()) if features.height else features.clear()
        if rows.height:
            rows = rows.filter(rows["date"].is_between(start, end))
        warehouse.replace_slice(TABLE, rows, start=start, end=end, symbol=spec.symbol)
        counts = rows.group_by("status").len().rows() if rows.height else []
        latest = rows.tail(1).to_dicts()[0] if rows.height else {}
        return dg.MaterializeResult(
            metadata=slice_metadata(
                TABLE,
                rows,
                start,
                end,
                {status: n for status, n in counts},
                {"latest_regime": str(latest.get("regime")), "latest_confidence": latest.get("confidence") or 0.0},
            )
        )

    return _regime
