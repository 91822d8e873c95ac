"""Walk-forward quantile model and SHAP force lines on the REAL ZLZ25 features.

Inputs: Barchart ZLZ25 daily bars 2021-12-15..2025-10-14, FRED VIXCLS/DGS2/DGS10, CFTC COT
007601 and the exchange calendar, loaded exactly as in ``test_features.py`` and turned into
features by ``mes_assets.features.daily.build_features``. Nothing here is made-up market data; the only
non-market inputs are analytic (a hand-written contribution matrix for the group map, named so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from benchmarks.replay_frames import zl_replay_features
from mes_assets.forecast.quantile_model import (
    ALPHAS,
    FEATURE_COLUMNS,
    QUANTILE_COLUMNS,
    WalkForwardResult,
    evaluate_rows,
    feature_matrix,
    forward_log_return,
    p50_shap,
    walk_forward,
)
from mes_assets.forecast.shap_groups import FORCE_GROUPS, feature_group, force_lines, group_sums


def evaluate(result: WalkForwardResult, features: pl.DataFrame, horizon: int) -> dict[str, float]:
    """Out-of-sample scores (:func:`evaluate_rows`) of daily rows (labels from ``close``, public at ``t + horizon``)."""
    frame = features.sort("date")
    y = forward_log_return(frame.get_column("close").to_numpy(), horizon)
    return evaluate_rows(result, y, np.arange(frame.height, dtype=np.int64) + horizon)


H = 5
RETRAIN = 63  # fewer refits keeps the module < 60 s


@pytest.fixture(scope="module")
def zl_features(data_root: Path) -> pl.DataFrame:
    return zl_replay_features(data_root, "test")


@pytest.fixture(scope="module")
def wf(zl_features: pl.DataFrame):
    return walk_forward(zl_features, H, retrain_every=RETRAIN)


# ------------------------------------------------------------------------------- labels


def test_forward_log_return_matches_hand_computation(zl_features: pl.DataFrame) -> None:
    close = zl_features.get_column("close").to_numpy()
    y = forward_log_return(close, H)
    assert np.isnan(y[-H:]).all() and np.isfinite(y[:-H]).all()
    t = 100
    assert y[t] == pytest.approx(np.log(close[t + H] / close[t]), rel=1e-12)


def test_feature_columns_exclude_identifiers_and_keep_nulls_as_nan(zl_features: pl.DataFrame) -> None:
    for c in ("date", "symbol", "close", "feature_asof", "calc_version", "cftc_report_date"):
        assert c not in FEATURE_COLUMNS
    X = feature_matrix(zl_features)
    nulls = zl_features.select(pl.col(c).is_null().sum() for c in FEATURE_COLUMNS).row(0)
    assert sum(nulls) > 0  # real features have NULLs (warm-up windows, stale FRED)
    assert np.isnan(X).sum(axis=0).tolist() == list(nulls)  # NULL -> NaN, never imputed


# ------------------------------------------------------------------------------- walk-forward


def test_every_prediction_is_out_of_sample(wf, zl_features: pl.DataFrame) -> None:
    dates = zl_features.get_column("date").to_list()
    index = {d: i for i, d in enumerate(dates)}
    pred = wf.predictions
    assert pred.height == len(dates) - (252 + H)
    for row in pred.iter_rows(named=True):
        t = index[row["date"]]
        assert t == row["session_index"]
        last_train = index[row["trained_through"]]
        # every training label (rows <= last_train) was public at session last_train + H < t
        assert last_train + H < t
        assert index[row["label_public_through"]] == last_train + H
    for r in wf.refits:
        assert r.n_train == index[r.train_end] + 1 and r.n_train + H == r.refit_index
        assert r.predict_start == dates[r.refit_index]
        assert set(r.features) == set(FEATURE_COLUMNS)
    assert len({r.model_version for r in wf.refits}) == len(wf.refits)
    assert wf.registry_frame().height == len(wf.refits)


def test_conformal_margins_use_only_earlier_public_outcomes(zl_features: pl.DataFrame) -> None:
    from mes_assets.forecast.quantile_model import MIN_CONFORMAL_ROWS
    from mes_assets.kernels.quantile_metrics import conformal_margin

    raw = walk_forward(zl_features, H, retrain_every=RETRAIN, conformal=False).predictions
    cqr = walk_forward(zl_features, H, retrain_every=RETRAIN).predictions
    y = forward_log_return(zl_features["close"].to_numpy(), H)
    # P50 untouched; each refit's margin = CQR of the raw bands of rows whose outcome was public
    # (row + H < first predicted row) — recomputed here independently of walk_forward.
    assert np.array_equal(raw["p50"].to_numpy(), cqr["p50"].to_numpy())
    applied = 0
    for block in cqr.partition_by("model_version", maintain_order=True):
        first = int(block["session_index"][0])
        past = raw.filter(pl.col("session_index") + H < first)
        if past.height < MIN_CONFORMAL_ROWS:
            assert block["conformal_n"][0] == past.height and block["margin_80"].is_nan().all()
            continue
        applied += 1
        yy = y[past["session_index"].to_numpy()]
        m80 = conformal_margin(yy, past["p10"].to_numpy(), past["p90"].to_numpy(), 0.8)
        assert block["margin_80"][0] == pytest.approx(m80, abs=1e-15)
        own = raw.filter(pl.col("model_version") == block["model_version"][0])
        assert np.allclose(np.minimum(own["p10"] - m80, own["p25"]), block["p10"].to_numpy()) or m80 < 0
    assert applied >= 3


def test_quantiles_are_non_crossing_and_finite(wf) -> None:
    q = wf.predictions.select(QUANTILE_COLUMNS).to_numpy()
    assert np.isfinite(q).all()
    assert (np.diff(q, axis=1) >= 0).all()


def test_evaluate_reports_finite_scores(wf, zl_features: pl.DataFrame) -> None:
    ev = evaluate(wf, zl_features, H)
    assert ev["n_eval"] == wf.predictions.height - H
    for k in ("pinball_mean", "baseline_pinball_mean", "coverage_50", "baseline_coverage_50"):
        assert np.isfinite(ev[k])
    assert 0.0 <= ev["crossing_rate"] <= 1.0
    assert 0.5 <= ev["coverage_80"] <= 1.0
    assert 0.5 <= ev["baseline_coverage_80"] <= 1.0


def test_same_seed_gives_identical_predictions(wf, zl_features: pl.DataFrame) -> None:
    again = walk_forward(zl_features, H, retrain_every=RETRAIN)
    assert again.predictions.equals(wf.predictions)


# ------------------------------------------------------------------------------- SHAP


def test_p50_shap_is_additive_on_real_rows(wf, zl_features: pl.DataFrame) -> None:
    X = feature_matrix(zl_features)
    pred = wf.predictions
    for r in wf.refits:
        block = pred.filter(pl.col("model_version") == r.model_version)
        rows = block.get_column("session_index").to_numpy()
        contribs, base = p50_shap(wf.boosters[r.model_version], X[rows])
        assert contribs.shape == (rows.size, len(FEATURE_COLUMNS))
        p50 = block.get_column("p50_raw").to_numpy()
        np.testing.assert_allclose(contribs.sum(axis=1) + base, p50, rtol=1e-5, atol=1e-5 * np.abs(p50).max())


def test_group_sums_and_force_lines_are_additive(wf, zl_features: pl.DataFrame) -> None:
    X = feature_matrix(zl_features)
    pred = wf.predictions
    contribs_all, base_all = [], []
    for r in wf.refits:
        rows = pred.filter(pl.col("model_version") == r.model_version).get_column("session_index").to_numpy()
        c, b = p50_shap(wf.boosters[r.model_version], X[rows])
        contribs_all.append(c)
        base_all.append(b)
    contribs, base = np.vstack(contribs_all), np.concatenate(base_all)
    groups = group_sums(contribs, FEATURE_COLUMNS)
    p50 = pred.get_column("p50_raw").to_numpy()
    total = base + sum(groups[g] for g in (*FORCE_GROUPS, "other"))
    np.testing.assert_allclose(total, p50, rtol=0, atol=1e-6)

    fl = force_lines(pred.get_column("date").to_list(), groups, base, p50)
    assert fl.height == pred.height
    four = fl.select(f"shap_{g}" for g in FORCE_GROUPS).to_numpy()
    np.testing.assert_allclose(fl["shap_sum"].to_numpy(), four.sum(axis=1), rtol=0, atol=1e-15)
    recon = fl["base_value"] + fl["shap_sum"] + fl["shap_other"]
    np.testing.assert_allclose(recon.to_numpy(), fl["p50_prediction"].to_numpy(), rtol=0, atol=1e-6)
    for g in FORCE_GROUPS:
        ema = fl[f"shap_{g}_ema"].to_numpy()
        assert np.isfinite(ema).all()
        raw = fl[f"shap_{g}"].to_numpy()
        assert ema.min() >= raw.min() - 1e-15 and ema.max() <= raw.max() + 1e-15
    assert (fl["plot_scale"].to_numpy() >= 0).all()


def test_force_line_smoothing_is_point_in_time(wf, zl_features: pl.DataFrame) -> None:
    """Truncating the history (as if later forecasts did not exist yet) leaves earlier rows unchanged."""
    X = feature_matrix(zl_features)
    r = wf.refits[0]
    pred = wf.predictions.filter(pl.col("model_version") == r.model_version)
    c, b = p50_shap(wf.boosters[r.model_version], X[pred.get_column("session_index").to_numpy()])
    groups = group_sums(c, FEATURE_COLUMNS)
    dates = pred.get_column("date").to_list()
    p50 = pred.get_column("p50_raw").to_numpy()
    full = force_lines(dates, groups, b, p50)
    k = len(dates) // 2
    part = force_lines(dates[:k], {g: v[:k] for g, v in groups.items()}, b[:k], p50[:k])
    assert part.equals(full.head(k))


def test_group_map_on_an_analytic_contribution_matrix() -> None:
    """Analytic input (not market data): contribution j of row i is 2**j, so each group's sum is
    exact and readable bit by bit."""
    assert feature_group("fred_vix") == "vix" and feature_group("realized_vol_20d") == "vix"
    assert feature_group("yield_spread_10y2y_bps") == "yield"
    assert feature_group("policy_trade_war_2017_19") == "trump"
    assert feature_group("cftc_net_spec_pctile_3y") == "cot"
    assert feature_group("ret_1d") == "other" and feature_group("dist_to_last_pivot_atr") == "other"
    names = list(FEATURE_COLUMNS)
    c = np.tile(2.0 ** np.arange(len(names)), (2, 1))
    sums = group_sums(c, names)
    for g, v in sums.items():
        want = sum(2.0**j for j, f in enumerate(names) if feature_group(f) == g)
        assert v.tolist() == [want, want]
    assert sum(sums.values()).tolist() == c.sum(axis=1).tolist()
    assert len(ALPHAS) == len(QUANTILE_COLUMNS) == 5
