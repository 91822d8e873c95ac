"""One family of assets per instrument, all built the same way."""

import dagster as dg

from mes_assets.defs.calibration import build_calibration_asset
from mes_assets.defs.checklist import build_checklist_asset, build_hit_rate_asset
from mes_assets.defs.features import build_features_asset
from mes_assets.defs.fibonacci import build_fib_asset
from mes_assets.defs.forecasts import build_forecast_assets, build_model_health_asset
from mes_assets.defs.gamma import build_gamma_assets
from mes_assets.defs.market_data import build_bars_asset
from mes_assets.defs.mc_calibration import build_mc_calibration_asset
from mes_assets.defs.mc_touches import build_mc_touches_asset
from mes_assets.defs.regime import build_regime_asset
from mes_assets.defs.sessions import build_sessions_asset
from mes_assets.defs.shap_stability import build_shap_stability_asset
from mes_assets.instruments import InstrumentSpec


def instrument_assets(spec: InstrumentSpec) -> list[dg.AssetsDefinition]:
    sessions = build_sessions_asset(spec)
    bars = build_bars_asset(spec, sessions)
    calibration = build_calibration_asset(spec, bars)
    fib = build_fib_asset(spec, [bars, sessions, calibration])
    features = build_features_asset(spec, [bars, sessions, calibration])
    family = [sessions, bars, calibration, fib, features, build_regime_asset(spec, features)]
    forecasts = build_forecast_assets(spec, features)
    family += [
        forecasts,
        build_model_health_asset(spec, forecasts),
        build_shap_stability_asset(spec),
        *build_gamma_assets(spec),
        build_mc_touches_asset(spec),
        build_mc_calibration_asset(spec),
    ]
    if spec.audience == "shared":  # the checklist is procurement-only (SPEC section 5)
        family += [build_checklist_asset(spec), build_hit_rate_asset(spec)]
    return family
