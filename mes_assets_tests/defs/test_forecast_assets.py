"""ZL pinball bands, SHAP values, force lines and model registry materialized from stored features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from mes_assets.definitions import build_definitions
from mes_assets_tests.conftest import make_resources, run_job, seed

START, END = dt.date(2023, 6, 1), dt.date(2023, 6, 30)


@pytest.fixture(scope="module")
def zl_features_through_2023_06(tmp_path_factory, data_root):
    """ZL sessions, bars and features (no drivers) 2021-12-15..END, fresh warehouse; tests copy it (seed)."""
    folder = tmp_path_factory.mktemp("zl_features_through_2023_06")
    run_job(
        build_definitions(make_resources(folder, data_root)),
        "zl_job",
        dt.date(2021, 12, 15),
        END,
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d", "zl/master_features"],
    )
    return folder


@pytest.mark.slow
def test_zl_forecast_tables_are_out_of_sample_ordered_and_additive(definitions, resources, zl_features_through_2023_06):
    seed(resources, zl_features_through_2023_06)  # zl sessions, bars, features 2021-12-15..END
    run_job(
        definitions,
        "zl_job",
        START,
        END,
        assets=["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
    )
    warehouse = resources["warehouse"].get_backend()
    bands = warehouse.read("SELECT * FROM predictions.quantiles ORDER BY horizon, date")
    sessions = warehouse.read(
        "SELECT COUNT(*) AS n FROM dim.exchange_sessions WHERE date BETWEEN @a AND @b", {"a": START, "b": END}
    )["n"][0]
    assert bands.group_by("horizon").len().sort("horizon")["len"].to_list() == [sessions, sessions]
    ordered = bands.select(
        (pl.col("p10") <= pl.col("p25"))
        & (pl.col("p25") <= pl.col("p50"))
        & (pl.col("p50") <= pl.col("p75"))
        & (pl.col("p75") <= pl.col("p90"))
    ).to_series()
    assert ordered.all()
    assert (bands["trained_through"] < bands["date"]).all()  # out of sample
    registry = warehouse.read("SELECT * FROM predictions.model_registry")
    # models first used in the range are registered, each trained only on earlier sessions
    assert registry.height >= 1
    assert set(registry["model_version"]) <= set(bands["model_version"])
    assert (registry["train_end"] < registry["date"]).all()
    assert (registry["n_train"] >= 252).all()
    lines = warehouse.read("SELECT * FROM explainability.force_lines")
    total = lines["base_value"] + lines["shap_sum"] + lines["shap_other"]
    assert ((total - lines["p50_prediction"]).abs() < 1e-6).all()
    shap = warehouse.read(
        "SELECT date, horizon, SUM(shap_value) + ANY_VALUE(base_value) AS p50 "
        "FROM explainability.shap_values GROUP BY date, horizon"
    ).join(lines.select("date", "horizon", "p50_prediction"), on=["date", "horizon"])
    assert shap.height == lines.height and ((shap["p50"] - shap["p50_prediction"]).abs() < 1e-6).all()


@pytest.mark.slow
def test_model_health_counts_only_outcomes_known_by_each_date(definitions, resources, zl_features_through_2023_06):
    day = dt.date(2023, 6, 30)
    assert day == END
    seed(resources, zl_features_through_2023_06)  # zl sessions, bars, features 2021-12-15..day
    run_job(
        definitions,
        "zl_job",
        dt.date(2022, 12, 1),
        day,
        assets=["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
    )
    run_job(definitions, "zl_job", day, day, assets=["zl/model_health"])
    warehouse = resources["warehouse"].get_backend()
    health = warehouse.read("SELECT * FROM predictions.model_metrics WHERE horizon = '1w'").row(0, named=True)
    # independent recomputation: the last 60 one-week forecasts whose target session closed by D
    bands = warehouse.read(
        "SELECT q.*, f.close AS outcome FROM predictions.quantiles q "
        "JOIN features.master_features f ON f.date = q.target_date AND f.symbol = q.symbol "
        "WHERE q.horizon = '1w' AND q.target_date <= @d ORDER BY q.date",
        {"d": day},
    ).tail(60)
    inside = ((bands["outcome"] >= bands["p10"]) & (bands["outcome"] <= bands["p90"])).mean()
    assert health["n_obs"] == bands.height == 60
    assert abs(health["coverage_80"] - inside) < 1e-12
    assert bands["target_date"].max() <= day < bands["date"].max() + dt.timedelta(days=10)
    assert 0.0 <= health["kupiec_p_value"] <= 1.0


@pytest.mark.slow
def test_regime_and_shap_stability_tables_for_a_real_range(definitions, resources):
    start, end = dt.date(2023, 3, 1), dt.date(2023, 6, 30)
    run_job(definitions, "drivers_job", dt.date(2021, 12, 15), end)
    run_job(
        definitions,
        "zl_job",
        dt.date(2021, 12, 15),
        end,
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d", "zl/master_features"],
    )
    run_job(
        definitions,
        "zl_job",
        start,
        end,
        assets=["zl/force_lines", "zl/pinball_bands", "zl/shap_values", "zl/model_registry"],
    )
    run_job(definitions, "zl_job", start, end, assets=["zl/regime_state", "zl/shap_stability"])
    warehouse = resources["warehouse"].get_backend()
    regime = warehouse.read("SELECT * FROM predictions.regime_state ORDER BY date")
    sessions = warehouse.read(
        "SELECT date FROM dim.exchange_sessions WHERE date BETWEEN @a AND @b ORDER BY date", {"a": start, "b": end}
    )
    assert regime["date"].to_list() == sessions["date"].to_list()
    assert set(regime["status"]) == {"ok"} and (regime["trained_through"] < regime["date"]).all()
    stability = warehouse.read("SELECT * FROM explainability.shap_stability ORDER BY horizon, date")
    assert stability.group_by("horizon").len()["len"].to_list() == [sessions.height] * 2
    # forecasts start 2023-01 (252 + h sessions in): the first 19 per horizon lack history
    assert set(stability["status"]) <= {"ok", "insufficient_history", "no_group_signal"}
    ok = stability.filter(pl.col("status") == "ok")
    assert ok.height > 0 and (ok["n_obs"] >= 20).all()


@pytest.mark.slow
def test_mes_intraday_forecasts_are_in_session_out_of_sample_and_private(definitions, resources):
    """The ES-proxy sample (three FirstRate windows, 35 RTH sessions): 5m/15m/60m bands per origin."""
    from mes_assets.features.intraday import intraday_features
    from mes_assets.instruments import MES
    from mes_assets.market.calendars import exchange_sessions
    from mes_assets.warehouse.sql_files import read_sql

    first, last = dt.date(2023, 3, 8), dt.date(2025, 5, 5)
    run_job(definitions, "drivers_job", dt.date(2023, 3, 1), last)
    run_job(
        definitions,
        "mes_job",
        first,
        last,
        assets=["mes/exchange_sessions", "mes/futures_ohlcv_1m", "mes/master_features", "mes/fib_levels"],
    )
    run_job(
        definitions,
        "mes_job",
        first,
        last,
        assets=["mes/pinball_bands", "mes/shap_values", "mes/force_lines", "mes/model_registry"],
    )
    run_job(
        definitions,
        "mes_job",
        dt.date(2025, 4, 21),
        last,
        assets=["mes/model_health", "mes/shap_stability", "mes/regime_state"],
    )
    private = resources["private_warehouse"].get_backend()
    bands = private.read("SELECT * FROM predictions.quantiles ORDER BY horizon, origin_ts")
    assert set(bands["horizon"]) == {"5m", "15m", "60m"}
    assert bands["origin_ts"].null_count() == 0 and bands["target_ts"].null_count() == 0
    minutes = {"5m": 5, "15m": 15, "60m": 60}
    for row in bands.group_by("horizon").agg(pl.col("origin_ts"), pl.col("target_ts")).iter_rows(named=True):
        spans = {(t - o).total_seconds() / 60 for o, t in zip(row["origin_ts"], row["target_ts"])}
        assert spans == {minutes[row["horizon"]]}  # h bars ahead, never across the overnight break
    assert (bands["target_date"] == bands["date"]).all()
    assert (bands["trained_through"] < bands["date"]).all()  # refitted before each session
    # the first 10 recorded RTH sessions only train: forecasts on every later one
    recorded = private.read("SELECT DISTINCT date FROM market_data.vw_ohlcv_1m_sessionized WHERE is_rth")
    assert bands.filter(pl.col("horizon") == "5m")["date"].n_unique() == recorded.height - 10
    # force lines stay additive per origin
    lines = private.read("SELECT * FROM explainability.force_lines")
    total = lines["base_value"] + lines["shap_sum"] + lines["shap_other"]
    assert lines.height == bands.height and ((total - lines["p50_prediction"]).abs() < 1e-6).all()
    stability = private.read("SELECT * FROM explainability.shap_stability")
    assert (
        set(stability["horizon"]) == {"5m", "15m", "60m"}
        and not stability.select("date", "horizon").is_duplicated().any()
    )
    assert set(private.read("SELECT status FROM predictions.regime_state")["status"]) == {"insufficient_history"}
    health = private.read("SELECT * FROM predictions.model_metrics")
    assert set(health["horizon"]) == {"5m", "15m", "60m"}
    assert ((health["coverage_80"] > 0.5) & (health["coverage_80"] <= 1.0)).all()
    # point in time: every driver row an origin used was public at the origin (its feature_asof)
    bars = private.read(
        read_sql("transforms/rth_bars_5m.sql"), {"symbol": "MES", "start_date": first, "end_date": last}
    )
    daily = private.read("SELECT * FROM features.master_features WHERE symbol = 'MES'")
    feats = intraday_features(bars, daily, 3.0, exchange_sessions(MES, first, last)["date"].to_list())
    used = feats.filter(pl.col("driver_date").is_not_null()).join(
        daily.select(pl.col("date").alias("driver_date"), "feature_asof"), on="driver_date"
    )
    assert used.height > 0 and (used["feature_asof"] <= used["origin_ts"]).all()
    assert (used["driver_date"] <= used["date"]).all()
    # no lookahead: features of every origin are unchanged when the later bars are not there yet
    cut = feats["origin_ts"][1500]
    prefix = intraday_features(
        bars.filter(pl.col("bar_end") <= cut), daily, 3.0, exchange_sessions(MES, first, last)["date"].to_list()
    )
    assert prefix.equals(feats.head(1501))
    # tap probabilities start from each date's latest forecast origin of each horizon
    run_job(definitions, "mes_job", dt.date(2025, 4, 21), last, assets=["mes/mc_touches"])
    touches = private.read("SELECT * FROM backtesting.mc_touches")
    assert set(touches["horizon"]) == {"5m", "15m", "60m"} and set(touches["terminal_source"]) == {"quantile_model"}
    assert (touches["exp_time_to_touch_unit"] == "minutes").all() and touches["origin_ts"].null_count() == 0
    # the tap-probability backtest scores every five-minute origin with an in-session horizon
    import dagster as dg

    calibration = definitions.resolve_job_def("mc_calibration_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=[dg.AssetKey(["mes", "mc_calibration"])]
    )
    assert calibration.success
    calib = private.read("SELECT * FROM backtesting.mc_calibration")
    assert set(calib["horizon"]) == {"5m", "15m", "60m"} and set(calib["status"]) == {"calibrated"}
    assert (calib["n_origins"] > 1500).all() and (calib["brier_model"] < 0.25).all()
    # the one-minute origin grid: a 15-minute window of one-minute bars from an origin on the
    # five-minute grid is exactly the next three five-minute bars (same high/low) where every
    # minute is recorded; five times the origins
    from mes_assets.defs.mc_calibration import read_backtest_inputs
    from mes_assets.horizons import horizon
    from mes_assets.montecarlo.backtest import _window_extremes, backtest_origins

    assert {h: horizon(h).bars(5) for h in ("5m", "15m", "60m")} == {"5m": 1, "15m": 3, "60m": 12}
    grids = {m: read_backtest_inputs(private, MES, last, bar_minutes=m) for m in (1, 5)}
    windows = {}
    for m, inputs in grids.items():
        b = inputs.bars.sort("bar_end")
        h = horizon("15m").bars(m)
        d = b["date"].to_numpy()
        same = np.zeros(b.height, dtype=bool)
        same[:-h] = d[h:] == d[:-h]
        hi, lo = _window_extremes(b["high"].to_numpy(), b["low"].to_numpy(), h, same)
        full = b["minute_count"].rolling_min(h).shift(-h).fill_null(0).to_numpy() == 5 if m == 5 else True
        windows[m] = b.select("bar_end").with_columns(hi=hi, lo=lo, full=full)
    paired = windows[5].filter(pl.col("full") & pl.col("hi").is_not_nan()).join(windows[1], on="bar_end", suffix="_1m")
    assert paired.height > 1500
    assert (paired["hi"] == paired["hi_1m"]).all() and (paired["lo"] == paired["lo_1m"]).all()
    sessions = exchange_sessions(MES, MES.history_start, last)["date"].to_list()
    n = {m: len(backtest_origins(g, "60m", sessions).spot) for m, g in grids.items()}
    assert 4.5 * n[5] < n[1] < 5.5 * n[5]
    # the same grid from the launchpad: the asset's config, its own calibration version
    fine = definitions.resolve_job_def("mc_calibration_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(["mes", "mc_calibration"])],
        run_config={"ops": {"mes__mc_calibration": {"config": {"origin_minutes": 1}}}},
    )
    assert fine.success
    # a re-run replaces the date's rows (idempotent per date and symbol): now the one-minute backtest
    rerun = private.read("SELECT horizon, n_origins, calibration_version FROM backtesting.mc_calibration")
    assert rerun.height == calib.height
    before = dict(zip(calib["horizon"], calib["calibration_version"], strict=True))
    assert all(before[h] != v for h, v in zip(rerun["horizon"], rerun["calibration_version"], strict=True))
    assert rerun.filter(pl.col("horizon") == "60m")["n_origins"].to_list() == [n[1]]
    bad = definitions.resolve_job_def("mc_calibration_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(["mes", "mc_calibration"])],
        run_config={"ops": {"mes__mc_calibration": {"config": {"origin_minutes": 2}}}},
        raise_on_error=False,
    )
    assert not bad.success
    # nothing intraday or MES in the shared warehouse
    shared = resources["warehouse"].get_backend()
    assert shared.read("SELECT COUNT(*) AS n FROM backtesting.mc_calibration")["n"][0] == 0
    assert shared.read("SELECT COUNT(*) AS n FROM predictions.quantiles")["n"][0] == 0
