"""Options open interest -> Black-76 GEX surface -> zero gamma, walls and rejection probability."""

import datetime as dt

import dagster as dg
import polars as pl

from mes_assets.defs._slices import (
    family_asset,
    family_key,
    instrument_warehouse,
    now_utc,
    slice_metadata,
    weekdays,
)
from mes_assets.defs.drivers import fred_sentiment_daily
from mes_assets.defs.partitions import partition_dates
from mes_assets.gamma.rejection import calibrate_rejection
from mes_assets.gamma.summary import gamma_summary_rows
from mes_assets.gamma.surface import continuous_rate, gex_tables, implied_vols
from mes_assets.horizons import horizon as horizon_of
from mes_assets.instruments import InstrumentSpec
from mes_assets.warehouse.queries import query

OI_TABLE = "derivatives.options_oi_raw"
SURFACE_TABLE = "derivatives.gex_surface"
SUMMARY_TABLE = "derivatives.gamma_summary"


def _rates(warehouse, end: dt.date) -> pl.DataFrame:
    """FRED DGS2 observations through ``end`` (the as-of risk-free rate of each date)."""
    return warehouse.read(query("fred_dgs2_through"), {"end_date": end})


def _rate_on(rates: pl.DataFrame, day: dt.date) -> float | None:
    known = rates.filter(pl.col("date") <= day)
    return continuous_rate(float(known["value"][-1])) if known.height else None


def _add(counts: dict, key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def build_gamma_assets(spec: InstrumentSpec) -> list[dg.AssetsDefinition]:
    @family_asset(
        spec,
        "options_oi_raw",
        kinds={"bigquery", "polars"},
        extra_resources=("recorded_data",),
        deps=[fred_sentiment_daily],
        description=f"{spec.symbol} front-three-expiry options OI and settlements (+ Black-76 IV); "
        "index options labelled as a stand-in where no futures options OI is recorded.",
    )
    def _options_oi_raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        source = context.resources.recorded_data.options(spec.symbol)
        rates = _rates(warehouse, end)
        frames: list[pl.DataFrame] = []
        status: dict[str, int] = {}
        dropped: dict[str, int] = {}
        iv_counts: dict[str, int] = {}
        sources: set[str] = set()
        for day in weekdays(start, end):
            rate = _rate_on(rates, day)
            if rate is None:
                _add(status, "no_risk_free_rate")
                continue
            got = source.oi_raw(spec.symbol, day, rate=rate, ingested_at=now_utc())
            _add(status, got.status)
            for reason, n in got.dropped.items():
                _add(dropped, reason, n)
            if got.frame.height:
                with_iv, counts = implied_vols(got.frame, rate)
                for k, n in counts.items():
                    _add(iv_counts, k, n)
                frames.append(with_iv)
                sources.update(got.frame["source"].unique().to_list())
        rows = pl.concat(frames) if frames else pl.DataFrame()
        warehouse.replace_slice(OI_TABLE, rows, start=start, end=end, symbol=spec.symbol)
        return dg.MaterializeResult(
            metadata=slice_metadata(
                OI_TABLE,
                rows,
                start,
                end,
                status,
                {
                    **{f"dropped_{k}": v for k, v in dropped.items()},
                    **{f"iv_{k}": v for k, v in iv_counts.items()},
                    "sources": ", ".join(sorted(sources)) or "none",
                },
            )
        )

    @family_asset(
        spec,
        "gex_surface",
        kinds={"bigquery", "numba"},
        deps=[_options_oi_raw],
        description=f"{spec.symbol} dealer GEX (USD per 1% move) re-priced over 0.8F..1.2F, per expiry "
        "and time-weighted (nearer heavier).",
    )
    def _gex_surface(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        oi = warehouse.read(
            query("options_oi_raw_between"), {"symbol": spec.symbol, "start_date": start, "end_date": end}
        )
        rates = _rates(warehouse, end)
        frames: list[pl.DataFrame] = []
        status: dict[str, int] = {}
        for (day,), rows in oi.partition_by("date", as_dict=True, maintain_order=True).items() if oi.height else []:
            rate = _rate_on(rates, day)
            if rate is None:  # stored OI rows always had a rate; a deleted FRED row must not pass silently
                _add(status, "no_risk_free_rate")
                continue
            surface, _ = gex_tables(spec.symbol, day, rows, rate=rate)
            frames.append(surface)
            _add(status, "ok")
        out = pl.concat(frames) if frames else pl.DataFrame()
        warehouse.replace_slice(SURFACE_TABLE, out, start=start, end=end, symbol=spec.symbol)
        _add(status, "no_options_data", len(weekdays(start, end)) - len(frames))
        return dg.MaterializeResult(metadata=slice_metadata(SURFACE_TABLE, out, start, end, status))

    @family_asset(
        spec,
        "gamma_summary",
        kinds={"bigquery", "numba"},
        deps=[_gex_surface, family_key(spec, "master_features")],
        description=f"{spec.symbol} zero-gamma line, two walls, wall strength and p_reject "
        "(NULL + 'uncalibrated' until enough real first-touch events exist).",
    )
    def _gamma_summary(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        start, end = partition_dates(context)
        warehouse = instrument_warehouse(context, spec)
        params = {"symbol": spec.symbol, "start_date": start, "end_date": end}
        oi = warehouse.read(query("options_oi_raw_between"), params)
        surface = warehouse.read(query("gex_surface_between"), params)
        vix = dict(warehouse.read(query("master_features_vix_between"), params).iter_rows())
        horizon = spec.wall_reject_horizon
        years = horizon_of(horizon).years
        # nothing wires real first-touch-then-reverse events in here yet (gamma/rejection.py can extract
        # them): the calibration is fitted on no events and stays 'uncalibrated', never a guessed alpha.
        calibration = calibrate_rejection(
            pl.DataFrame(schema={"g": pl.Float64, "z": pl.Float64, "reversed": pl.Int64}), horizon=horizon
        )
        frames = []
        for day in sorted(set(surface["date"])) if surface.height else []:
            v = vix.get(day)
            frames.append(
                gamma_summary_rows(
                    spec.symbol,
                    day,
                    oi.filter(pl.col("date") == day),
                    surface.filter(pl.col("date") == day),
                    horizon=horizon,
                    horizon_years=years,
                    sigma_annual=(v / 100.0) if v else None,
                    calibration=calibration,
                )
            )
        out = pl.concat(frames) if frames else pl.DataFrame()
        warehouse.replace_slice(SUMMARY_TABLE, out, start=start, end=end, symbol=spec.symbol)
        status = dict(out.group_by("status").len().rows()) if out.height else {"no_options_data": 1}
        return dg.MaterializeResult(
            metadata=slice_metadata(
                SUMMARY_TABLE,
                out,
                start,
                end,
                status,
                {"calibration": calibration.status, "calibration_events": calibration.n_events},
            )
        )

    return [_options_oi_raw, _gex_surface, _gamma_summary]
