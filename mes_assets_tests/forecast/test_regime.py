"""Walk-forward regime states on the REAL ZL features (vendored ZLZ25, FRED VIXCLS)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from mes_assets.forecast.regime import MIN_REGIME_TRAIN_DAYS, MIN_TRAIN, REFIT_EVERY, regime_states
from mes_assets.kernels.hmm import fit_em, hamilton_filter
from mes_assets_tests.forecast.test_quantile_model import zl_features  # noqa: F401  (module fixture)

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def states(zl_features: pl.DataFrame) -> pl.DataFrame:  # noqa: F811
    return regime_states("ZL", zl_features, NOW)


def test_one_row_per_session_and_explicit_status_before_min_history(states, zl_features):  # noqa: F811
    assert states["date"].to_list() == zl_features["date"].to_list()
    early = states.head(MIN_TRAIN)
    assert (early["status"] == "insufficient_history").all() and early["p_stress"].is_null().all()
    ok = states.slice(MIN_TRAIN)
    assert (ok["status"] == "ok").all()
    assert ((ok["p_stress"] >= 0) & (ok["p_stress"] <= 1)).all()
    assert np.allclose(ok["confidence"], np.maximum(ok["p_stress"], 1 - ok["p_stress"]), atol=1e-12)
    assert (ok["trained_through"] < ok["date"]).all()
    assert (ok["vix_stress"] > ok["vix_calm"]).all()  # labelling: stress = higher VIX
    assert set(ok["regime"]) == {"calm", "stress"}  # both regimes occur in 2023-25


def test_probabilities_are_filtered_with_params_fitted_before_the_date(states, zl_features):  # noqa: F811
    # independent recomputation of one refit block: fit on rows < T, filter through the block end
    z = np.column_stack(
        [
            zl_features["ret_1d"].fill_null(np.nan).to_numpy(),
            np.log(zl_features["fred_vix"].fill_null(np.nan).to_numpy()),
        ]
    )
    T = MIN_TRAIN + 3 * REFIT_EVERY
    fit = fit_em(z[:T], order_by=1)
    filt, _ = hamilton_filter(z[: T + REFIT_EVERY], fit.mu, fit.var, fit.transition)
    block = states.slice(T, REFIT_EVERY)
    assert np.allclose(block["p_stress"].to_numpy(), filt[T:, 1], atol=1e-12)
    train_stress = int((filt[:T, 1] > 0.5).sum())
    expected = np.where(filt[T:, 1] > 0.5, train_stress, T - train_stress)
    assert block["regime_train_days"].to_list() == expected.tolist()
    assert block["in_training_slice"].to_list() == (expected >= MIN_REGIME_TRAIN_DAYS).tolist()


def test_later_sessions_never_change_earlier_states(states, zl_features):  # noqa: F811
    cut = MIN_TRAIN + 5 * REFIT_EVERY + 7
    prefix = regime_states("ZL", zl_features.head(cut), NOW)
    assert prefix.drop("computed_at").equals(states.head(cut).drop("computed_at"))


def test_short_history_gives_status_rows_only(zl_features):  # noqa: F811
    rows = regime_states("MES", zl_features.head(35), NOW)
    assert rows.height == 35 and (rows["status"] == "insufficient_history").all()


def test_rejects_non_positive_vix(zl_features):  # noqa: F811
    bad = zl_features.with_columns(
        pl.when(pl.int_range(pl.len()) == 300).then(0.0).otherwise(pl.col("fred_vix")).alias("fred_vix")
    )
    with pytest.raises(ValueError, match="positive"):
        regime_states("ZL", bad, NOW)


def test_missing_vix_gives_an_explicit_status_not_a_fit(zl_features):  # noqa: F811
    rows = regime_states("ZL", zl_features.with_columns(pl.lit(None, pl.Float64).alias("fred_vix")), NOW)
    assert set(rows.slice(MIN_TRAIN)["status"]) == {"missing_input: fred_vix"}
    assert rows["p_stress"].is_null().all()
