"""backtesting.mc_touches: Monte-Carlo tap probability of every level of a date, per horizon."""

import dagster as dg
import polars as pl

from mes_assets.defs._slices import family_asset, family_key, instrument_warehouse, now_utc, slice_metadata
from mes_assets.defs.partitions import partition_dates
from mes_assets.instruments import InstrumentSpec
from mes_assets.montecarlo.touches import MC_TOUCH_SCHEMA, TouchInputs, day_levels, touch_rows
from mes_assets.warehouse.queries import query

TABLE = "backtesting.mc_touches"


def _by_date(frame: pl.DataFrame) -> dict:
    return {row["date"]: row for row in frame.iter_rows(named=True)}


def _read_inputs(warehouse, spec: InstrumentSpec, start, end) -> dict[str, pl.DataFrame]:
    params = {"symbol": spec.symbol, "start_date": start, "end_date": end}
    return {
        "fib": warehouse.read(query("fib_levels_between"), params),
        "gamma": warehouse.read(query("gamma_summary_weighted_between"), params),
        "features": warehouse.read(query("master_features_spot_vol_between"), params),
        "forecasts": warehouse.read(query("quantiles_latest_per_date_between"), params),
        # calibrations public by the end of the range; each date takes the latest one up to itself
        "calibration": warehouse.read(query("mc_calibration_calibrated_through"), params),
    }


def _calibration_for(calibration: pl.DataFrame, day, horizon) -> tuple[float | None, str | None]:
    known = calibration.filter((pl.col("horizon") == horizon) & (pl.col("date") <= day))
    if known.is_empty():
        return None, None
    last = known.row(-1, named=True)
    return last["vix_weight"], last["calibration_version"]


def build_mc_touches_asset(spec: InstrumentSpec) -> dg.AssetsDefinition:
    @family_asset(
        spec,
        "mc_touches",
        kinds={"bigquery", "numba"},
        deps=[family_key(spec, n) for n in ("fib_levels", "pinball_bands", "master_features", "gamma_summary")],
        description=f"{spec.symbol} Monte-Carlo tap probabilities (10,000 paths, bridge-corrected) per level "
        f"and horizon {', '.join(spec.mc_horizons)}.",
    )
    def _mc_touches(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        inputs = _read_inputs(warehouse, spec, start, end)
        fib, gamma, feats = (_by_date(inputs[k]) for k in ("fib", "gamma", "features"))
        forecasts = {(r["date"], r["horizon"]): r for r in inputs["forecasts"].iter_rows(named=True)}
        stamp = now_utc()
        rows: list[dict] = []
        status: dict[str, int] = {}
        for day in sorted(set(fib) | set(gamma)):
            levels = day_levels(fib.get(day), gamma.get(day))
            feature = feats.get(day)
            for horizon in spec.mc_horizons:
                forecast = forecasts.get((day, horizon))
                spot = forecast["ref_price"] if forecast else (feature or {}).get("close")
                if spot is None:
                    status["no_spot"] = status.get("no_spot", 0) + 1
                    continue
                weight, version = _calibration_for(inputs["calibration"], day, horizon)
                out, why = touch_rows(
                    TouchInputs(
                        symbol=spec.symbol,
                        date=day,
                        horizon=horizon,
                        spot=float(spot),
                        levels=levels,
                        forecast=forecast,
                        vix=(feature or {}).get("fred_vix"),
                        realized_vol=(feature or {}).get("realized_vol_20d"),
                        vix_weight=weight,
                        vol_calibration_version=version,
                        origin_ts=(forecast or {}).get("origin_ts"),
                    ),
                    stamp,
                )
                rows.extend(out)
                status[why] = status.get(why, 0) + 1
        frame = pl.DataFrame(rows, schema=MC_TOUCH_SCHEMA)
        warehouse.replace_slice(TABLE, frame, start=start, end=end, symbol=spec.symbol)
        sources = frame.group_by("terminal_source", "vol_source").len().rows() if frame.height else []
        return dg.MaterializeResult(
            metadata=slice_metadata(
                TABLE,
                frame,
                start,
                end,
                status,
                {"terminal_and_vol_sources": ", ".join(f"{t}/{v}={n}" for t, v, n in sorted(sources)) or "none"},
            )
        )

    return _mc_touches
