"""Options -> GEX -> gamma summary, Monte-Carlo tap probabilities and their backtest, as assets on
the real sample (SPX index options as the labelled MES stand-in; ZLZ25, FRED, ES proxy bars)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from mes_assets.levels.fibonacci import LEVEL_COLUMNS
from mes_assets_tests.conftest import ZL_HISTORY_2024_07, last_metadata, run_job, seed

D = dt.date


@pytest.mark.slow
def test_mes_gamma_tables_from_the_spx_stand_in_stay_private_and_uncalibrated(resources, mes_gamma_2023_06_23):
    day = D(2023, 6, 23)
    # drivers 06-01..day, MES sessions and features 06-20..day, then options -> GEX -> gamma on day
    # (conftest's shared build, with last_metadata(<that last run>, "mes/gamma_summary"))
    built, gamma_summary_metadata = mes_gamma_2023_06_23
    seed(resources, built)
    private = resources["private_warehouse"].get_backend()
    oi = private.read("SELECT * FROM derivatives.options_oi_raw")
    assert oi.height > 0 and (oi["oi"] > 0).all() and (oi["expiry"] > day).all()
    assert oi["source"].str.contains("STAND-IN").all() and set(oi["underlying_symbol"]) == {"SPX"}
    assert oi["implied_vol"].drop_nulls().is_between(0.01, 2.0).all()
    surface = private.read("SELECT * FROM derivatives.gex_surface")
    weighted = surface.filter(pl.col("aggregation") == "weighted")
    assert weighted.height == 401 and weighted["price_grid"].is_sorted()
    summary = private.read("SELECT * FROM derivatives.gamma_summary")
    assert summary.height > 0
    assert summary["p_reject_wall_1"].is_null().all()  # no real rejection events: never a guessed alpha
    assert summary["status"].str.contains("uncalibrated").all() and (summary["calib_n_events"] == 0).all()
    meta = gamma_summary_metadata
    assert meta["calibration"] == "uncalibrated" and meta["calibration_events"] == 0
    shared = resources["warehouse"].get_backend()
    for table in ("options_oi_raw", "gex_surface", "gamma_summary"):
        assert shared.read(f"SELECT COUNT(*) AS n FROM derivatives.{table}")["n"][0] == 0


@pytest.mark.slow
def test_zl_has_no_options_data_and_says_so(definitions, resources):
    day = D(2024, 3, 1)
    run_job(definitions, "drivers_job", D(2024, 2, 1), day)
    result = run_job(definitions, "zl_job", day, day, assets=["zl/options_oi_raw"])
    meta = last_metadata(result, "zl/options_oi_raw")
    assert meta["dagster/row_count"] == 0 and meta["dates_no_options_data"] == 1


@pytest.mark.slow
def test_zl_tap_probabilities_and_their_backtest(definitions, resources):
    start, end = D(2023, 1, 3), D(2023, 12, 29)
    run_job(definitions, "drivers_job", D(2021, 12, 15), end)
    run_job(
        definitions,
        "zl_job",
        D(2021, 12, 15),
        end,
        assets=["zl/exchange_sessions", "zl/futures_ohlcv_1d", "zl/master_features", "zl/fib_levels"],
    )
    run_job(
        definitions,
        "zl_job",
        D(2023, 6, 1),
        end,
        assets=["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
    )
    run_job(definitions, "zl_job", start, end, assets=["zl/mc_touches"])
    warehouse = resources["warehouse"].get_backend()
    touches = warehouse.read("SELECT * FROM backtesting.mc_touches ORDER BY date, horizon, level_tag")
    fib_days = warehouse.read(
        "SELECT COUNT(*) AS n FROM signals.fib_levels WHERE date BETWEEN @a AND @b", {"a": start, "b": end}
    )["n"][0]
    assert touches.height == fib_days * 2 * len(LEVEL_COLUMNS)  # every level x both horizons
    assert touches["tap_prob"].is_between(0, 1).all()
    assert (
        (touches["tap_prob_ci_low"] <= touches["tap_prob"]) & (touches["tap_prob"] <= touches["tap_prob_ci_high"])
    ).all()
    with_model = touches.filter(pl.col("date") >= D(2023, 6, 1))
    assert set(with_model["terminal_source"]) == {"quantile_model"}
    assert with_model["quantile_model_version"].null_count() == 0
    early = touches.filter(pl.col("date") < D(2023, 6, 1))  # no forecasts stored: said so
    assert (
        set(early["terminal_source"]) == {"normal_vol_only"}
        and early["quantile_model_version"].null_count() == early.height
    )
    assert set(touches["vol_source"]) == {"fred_vix"}  # no calibration stored yet: VIX, SPEC's primary
    # a touch is more likely over a month than over a week, level by level
    wide = touches.pivot(on="horizon", index=["date", "level_tag"], values="tap_prob")
    assert (wide["1m"] >= wide["1w"] - 0.02).mean() > 0.95
    # idempotent and reproducible: the same range again gives the same rows
    run_job(definitions, "zl_job", start, end, assets=["zl/mc_touches"])
    again = warehouse.read("SELECT * FROM backtesting.mc_touches ORDER BY date, horizon, level_tag")
    assert again.drop("computed_at").equals(touches.drop("computed_at"))

    result = definitions.resolve_job_def("mc_calibration_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=[dg.AssetKey(["zl", "mc_calibration"])]
    )
    calib = warehouse.read("SELECT * FROM backtesting.mc_calibration WHERE symbol = 'ZL'")
    assert set(calib["horizon"]) == {"1w", "1m"} and set(calib["status"]) == {"calibrated"}
    assert calib["brier_model"].is_between(0, 0.25).all() and calib["vix_weight"].is_between(0, 1).all()
    assert result.success
    # from the calibration's date on, mc_touches blends with its weight and names the version
    last = calib["date"].max()
    run_job(definitions, "zl_job", last, last, assets=["zl/mc_touches"])
    blended = warehouse.read("SELECT * FROM backtesting.mc_touches WHERE date = @d", {"d": last})
    assert set(blended["vol_source"]) <= {"blend"} and blended["vol_calibration_version"].null_count() == 0


@pytest.mark.slow
def test_zl_checklist_and_strategy_overlay_view(definitions, resources, monkeypatch, zl_history_through_2024_07):
    start, end = D(2024, 6, 3), D(2024, 7, 31)
    # drivers and ZL sessions, bars, features, fib levels 2021-12-15..end: conftest's shared build
    assert ZL_HISTORY_2024_07 == (D(2021, 12, 15), end)
    seed(resources, zl_history_through_2024_07)
    run_job(
        definitions,
        "zl_job",
        D(2023, 6, 1),
        end,
        assets=["zl/pinball_bands", "zl/shap_values", "zl/force_lines", "zl/model_registry"],
    )
    run_job(definitions, "zl_job", start, end, assets=["zl/model_health", "zl/regime_state", "zl/mc_touches"])
    # without a budget cap the budget check says 'unset' and cannot pass
    monkeypatch.delenv("MES_BUDGET_CAP_ZL", raising=False)
    run_job(definitions, "zl_job", start, end, assets=["zl/entry_checklist"])
    warehouse = resources["warehouse"].get_backend()
    unset = warehouse.read("SELECT * FROM signals.entry_checklist ORDER BY date")
    assert unset.height > 30 and set(unset["check_budget_risk"]) == {"unset"}
    assert (unset["verdict"] != "EXECUTE").all()
    # ZL has no options data: confluence can never find a supportive wall, and says why
    assert not unset["check_confluence"].any()
    # verdict and tranche follow the number of checks passed, and the notes name every check
    for row in unset.iter_rows(named=True):
        n = sum(
            bool(row[c])
            for c in (
                "check_model_health",
                "check_regime_valid",
                "check_confluence",
                "check_positioning",
                "check_vol_sanity",
            )
        )
        assert row["checks_passed"] == n
        assert row["verdict"] == ("PARTIAL" if n >= 4 else "WAIT")
        assert row["tranche_pct"] == (50.0 if n >= 4 else 0.0)
        assert row["check_notes"].count("|") == 5
        assert row["rationale"].count("bps to P50") == 2
    # with a cap the Monte-Carlo budget risk is evaluated: a cap at the close is very likely tapped
    close = warehouse.read("SELECT close FROM features.master_features WHERE date = @d", {"d": end})["close"][0]
    monkeypatch.setenv("MES_BUDGET_CAP_ZL", f"{close:.2f}")
    run_job(definitions, "zl_job", end, end, assets=["zl/entry_checklist"])
    capped = warehouse.read("SELECT * FROM signals.entry_checklist WHERE date = @d", {"d": end}).row(0, named=True)
    assert capped["check_budget_risk"] == "aggressive" and capped["p_budget_breach"] > 0.9
    # the Chris-facing view joins it all, ZL only, one row per session
    view = warehouse.read(
        "SELECT * FROM api.vw_zl_strategy_overlay WHERE date BETWEEN @a AND @b ORDER BY date", {"a": start, "b": end}
    )
    assert view.height == unset.height and set(view["symbol"]) == {"ZL"}
    last = view.row(-1, named=True)
    assert last["verdict"] == capped["verdict"] and last["band_1w_p10"] <= last["band_1w_p90"]
    touch = warehouse.read(
        "SELECT tap_prob FROM backtesting.mc_touches WHERE date = @d AND horizon = '1m' AND level_tag = 'fib_618'",
        {"d": end},
    )["tap_prob"][0]
    assert last["tap_1m_fib_618"] == touch and last["zero_gamma"] is None
    assert warehouse.read("SELECT COUNT(*) AS n FROM api.vw_zl_strategy_overlay WHERE symbol <> 'ZL'")["n"][0] == 0
    # hit-rate over the stored decisions, against an independent recomputation of one class
    hit = definitions.resolve_job_def("checklist_hit_rate_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert hit.success
    rates = warehouse.read("SELECT * FROM backtesting.checklist_hit_rate")
    assert sorted(rates["verdict"]) == ["EXECUTE", "PARTIAL", "WAIT"]
    decided = warehouse.read("SELECT date, verdict FROM signals.entry_checklist")
    assert rates["n_decisions"].sum() + rates["n_unscored"].sum() == decided.height
    closes = warehouse.read("SELECT date, close FROM features.master_features ORDER BY date")
    day_index = {d: i for i, d in enumerate(closes["date"].to_list())}
    price = closes["close"].to_list()
    wait = [d for d, v in decided.iter_rows() if v == "WAIT" and day_index[d] + 21 < len(price)]
    if wait:
        expected = sum(
            (price[day_index[d]] / (sum(price[day_index[d] + 1 : day_index[d] + 22]) / 21) - 1) * 1e4 for d in wait
        ) / len(wait)
        got = rates.filter(pl.col("verdict") == "WAIT")["mean_diff_bps"][0]
        assert got == pytest.approx(expected, rel=1e-9)
