"""gamma.py on the REAL recorded option files: implied vols, GEX tables, summary rows, rejection events."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mes_assets.gamma.surface as G
from mes_assets.gamma import rejection
from mes_assets.gamma import summary as gsummary
from mes_assets.gamma.forward import parity_forward
from mes_assets.horizons import horizon
from mes_assets.kernels import black76
from mes_assets.kernels.gex import DealerConvention, gamma_walls, rejection_features
from mes_assets.sources.options.replay import ReplayOptions
from mes_assets.sources.replay import ReplayFred, ReplayMarketData
from mes_assets.warehouse.sql_files import declared_columns, load_sql_files

USABLE = [dt.date(2015, 12, 22), dt.date(2015, 12, 23), dt.date(2021, 1, 4), dt.date(2023, 6, 23)]
BQ_TO_POLARS = {
    "DATE": pl.Date,
    "STRING": pl.Utf8,
    "FLOAT64": pl.Float64,
    "INT64": pl.Int64,
    "TIMESTAMP": pl.Datetime("us", "UTC"),
    "ARRAY<FLOAT64>": pl.List(pl.Float64),
}
H_LABEL = "1w"
H_YEARS = horizon(H_LABEL).years


def ddl_schema(name: str) -> pl.Schema:
    sql = next(f for f in load_sql_files() if f.qualified_name == f"derivatives.{name}")
    return pl.Schema({col: BQ_TO_POLARS[kind] for col, kind in declared_columns(sql)})


@pytest.fixture(scope="module")
def root(data_root) -> Path:
    """The full recorded data (options, ES daily); the vendored sample has neither."""
    path = Path(data_root)
    if not (path / "options" / "lean_indexoption_spx").is_dir() or not (path / "futures_daily" / "ES.csv").is_file():
        pytest.skip("needs the full recorded data (../shared/data): options and ES daily files")
    return path


@pytest.fixture(scope="module")
def real(root):
    """Per usable date: rate (FRED DGS2), VIX, oi_raw with IVs, IV counts, surface, info, summary."""
    fred, opts = ReplayFred(root), ReplayOptions(root, forward=parity_forward)
    out = {}
    for d in USABLE:
        rate = G.continuous_rate(fred.series("DGS2", d, d)["value"][0])
        vix = fred.series("VIXCLS", d, d)["value"][0] / 100.0
        res = opts.oi_raw("MES", d, rate=rate)
        oi, counts = G.implied_vols(res.frame, rate)
        surface, info = G.gex_tables("MES", d, oi, rate=rate)
        summary = gsummary.gamma_summary_rows(
            "MES", d, oi, surface, horizon=H_LABEL, horizon_years=H_YEARS, sigma_annual=vix
        )
        out[d] = dict(rate=rate, vix=vix, oi=oi, counts=counts, surface=surface, info=info, summary=summary)
    return out


def test_schemas_are_the_ddl():
    assert G.GEX_SURFACE == ddl_schema("gex_surface")
    assert gsummary.GAMMA_SUMMARY == ddl_schema("gamma_summary")


def test_continuous_rate_and_horizons():
    assert G.continuous_rate(0.99) == pytest.approx(2 * math.log(1 + 0.99 / 200), rel=1e-15)
    assert horizon("60m").years == pytest.approx(60 / (390 * 252))
    assert horizon("1m").years == pytest.approx(21 / 252)
    assert horizon("1w").years == pytest.approx(5 / 252)
    with pytest.raises(ValueError):
        horizon("1y")


# ---------------------------------------------------------------------------- implied vols
def test_iv_status_counts_and_repricing(real):
    assert real[dt.date(2015, 12, 22)]["counts"]["ok"] == 75
    assert real[dt.date(2015, 12, 23)]["counts"]["ok"] == 94
    assert real[dt.date(2023, 6, 23)]["counts"]["ok"] == 12
    for d in USABLE:
        oi, counts = real[d]["oi"], real[d]["counts"]
        assert sum(v for k, v in counts.items() if k != "missing_settle") == oi.height
        assert oi["implied_vol"].null_count() == oi.height - counts["ok"]
        ok = oi.filter(pl.col("implied_vol").is_not_null())
        t = (ok["expiry"] - ok["date"]).dt.total_days().to_numpy() / 365.0
        back = black76.price(
            ok["underlying_price"].to_numpy(),
            ok["strike"].to_numpy(),
            t,
            real[d]["rate"],
            ok["implied_vol"].to_numpy(),
            (ok["call_put"] == "C").to_numpy(),
        )
        np.testing.assert_allclose(back, ok["settle"].to_numpy(), rtol=1e-7, atol=1e-9)


def test_iv_close_to_vendor_iv_spxw(real, root):
    # independent oracle: QuantConnect's own implied_volatility column for the same SPXW rows
    raw = pl.read_csv(root / "options/lean_indexoption_spxw/20230623.csv", infer_schema=False)
    raw = raw.filter(pl.col("#expiry").is_not_null()).select(
        pl.col("#expiry").str.to_date("%Y%m%d").alias("expiry"),
        pl.col("strike").cast(pl.Float64),
        pl.col("right").alias("call_put"),
        pl.col("implied_volatility").cast(pl.Float64).alias("qc_iv"),
    )
    j = real[dt.date(2023, 6, 23)]["oi"].join(raw, on=["expiry", "strike", "call_put"])
    assert j.height == 12
    assert ((j["implied_vol"] - j["qc_iv"]).abs() < 0.005).all()


def test_below_intrinsic_is_null_and_counted(real):
    # The same real SPXW rows priced against the recorded SPX CLOSE 4348.23 instead of the parity
    # forward (~4351.5): the in-the-money puts settle below their intrinsic value (e.g. 4440 P at
    # 90.15 < 4440 - 4348.23) - exactly why the reader uses the forward. They must be NULL + counted.
    oi = real[dt.date(2023, 6, 23)]["oi"].with_columns(
        pl.lit(4348.23).alias("underlying_price"), pl.lit(None, pl.Float64).alias("implied_vol")
    )
    out, counts = G.implied_vols(oi, real[dt.date(2023, 6, 23)]["rate"])
    assert counts["below_intrinsic"] == 6 and counts["ok"] == 6
    assert out.filter(pl.col("call_put") == "P")["implied_vol"].null_count() == 6


# ---------------------------------------------------------------------------- surface
def test_surface_invariants(real):
    for d in USABLE:
        s, info = real[d]["surface"], real[d]["info"]
        assert s.schema == G.GEX_SURFACE and info["status"] == "ok"
        assert s["symbol"].unique().to_list() == ["MES"] and s["date"].unique().to_list() == [d]
        per = s.filter(pl.col("aggregation") == "expiry")
        w = per.select("expiry", "time_weight").unique()
        assert w["time_weight"].sum() == pytest.approx(1.0, abs=1e-12)  # weights sum to 1
        assert w.sort("expiry")["time_weight"].is_sorted(descending=True)  # nearer heavier
        assert s.group_by("aggregation", "expiry").len()["len"].to_list() == [401] * (w.height + 1)
        np.testing.assert_allclose(
            s["gex_usd_per_pct"], s["call_gex_usd_per_pct"] + s["put_gex_usd_per_pct"], rtol=1e-12
        )
        assert (s["call_gex_usd_per_pct"] >= 0).all() and (
            s["put_gex_usd_per_pct"] <= 0
        ).all()  # long calls, short puts
        weighted = s.filter(pl.col("aggregation") == "weighted").sort("price_grid")
        combo = (
            per.join(w, on=["expiry", "time_weight"])
            .with_columns((pl.col("gex_usd_per_pct") * pl.col("time_weight")).alias("x"))
            .group_by("price_grid")
            .agg(pl.col("x").sum())
            .sort("price_grid")
        )
        np.testing.assert_allclose(weighted["gex_usd_per_pct"], combo["x"], rtol=1e-9, atol=1e-6)
        assert weighted["n_expiries"][0] == w.height and weighted["expiry"][0] == per["expiry"].min()
        spot = weighted["spot"][0]
        assert weighted["price_grid"][200] == pytest.approx(spot, rel=1e-12)
        assert weighted["grid_pct_of_spot"][0] == pytest.approx(80.0) and weighted["grid_pct_of_spot"][
            400
        ] == pytest.approx(120.0)


def test_other_convention_flips_signs(real):
    d = dt.date(2015, 12, 23)
    s, _ = G.gex_tables(
        "MES", d, real[d]["oi"], rate=real[d]["rate"], convention=DealerConvention.SHORT_CALLS_LONG_PUTS
    )
    np.testing.assert_allclose(s["gex_usd_per_pct"], -real[d]["surface"]["gex_usd_per_pct"], rtol=1e-12)
    assert s["dealer_convention"].unique().to_list() == ["short_calls_long_puts"]


def test_privacy_symbol_cannot_be_mixed(real):
    d = dt.date(2015, 12, 23)
    with pytest.raises(ValueError, match="asked for 'ES'"):
        G.gex_tables("ES", d, real[d]["oi"], rate=real[d]["rate"])
    with pytest.raises(ValueError, match="another symbol"):
        gsummary.gamma_summary_rows(
            "ES",
            d,
            real[d]["oi"].with_columns(pl.lit("ES").alias("symbol")),
            real[d]["surface"],
            horizon=H_LABEL,
            horizon_years=H_YEARS,
        )


# ---------------------------------------------------------------------------- summary
def test_summary_invariants(real):
    for d in USABLE:
        summ, s, oi = real[d]["summary"], real[d]["surface"], real[d]["oi"]
        assert summ.schema == gsummary.GAMMA_SUMMARY and summ["symbol"].unique().to_list() == ["MES"]
        assert summ.height == s.select("aggregation", "expiry").n_unique()
        for row in summ.iter_rows(named=True):
            cur = s.filter((pl.col("aggregation") == row["aggregation"]) & (pl.col("expiry") == row["expiry"])).sort(
                "price_grid"
            )
            grid, gex = cur["price_grid"].to_numpy(), cur["gex_usd_per_pct"].to_numpy()
            tokens = row["status"].split(",")
            assert "uncalibrated" in tokens and row["p_reject_wall_1"] is None and row["calib_alpha"] is None
            if row["zero_gamma"] is None:
                assert "no_zero_crossing" in tokens and row["zero_gamma_crossings"] == []
            else:
                # a real sign change of the STORED surface, bracketed by adjacent grid points
                zg = row["zero_gamma"]
                j = int(np.searchsorted(grid, zg))
                assert gex[j - 1] * gex[j] <= 0 and grid[j - 1] <= zg <= grid[j]
                assert zg in row["zero_gamma_crossings"]
                assert min(row["zero_gamma_crossings"], key=lambda x: abs(x - row["spot"])) == zg
            src = oi if row["aggregation"] == "weighted" else oi.filter(pl.col("expiry") == row["expiry"])
            strike_oi = src.group_by("strike").agg(pl.col("oi").sum())
            inside = strike_oi.filter(pl.col("strike").is_between(grid[0], grid[-1]))
            threshold = float(np.quantile(inside["oi"].to_numpy(), 0.8))
            walls = gamma_walls(grid, gex, src["strike"].to_numpy(), src["oi"].to_numpy().astype(float))
            for j, (wall, g_col) in enumerate((("wall_1", "wall_strength"), ("wall_2", "wall_2_g"))):
                if row[wall] is None:
                    assert ("no_walls" in tokens) or ("fewer_walls" in tokens)
                    continue
                # walls sit on large-OI strikes
                assert strike_oi.filter(pl.col("strike") == row[wall])["oi"][0] >= threshold
                assert row[g_col] is not None and row[g_col] > 0
                # wall_strength is g of the wall (DDL), not the kernel's |GEX| / mean |GEX|
                g, _ = rejection_features(
                    grid,
                    gex,
                    row["spot"],
                    row[wall],
                    real[d]["vix"] * row["spot"],
                    H_YEARS,
                    wall_extremum=float(walls.extremum[j]),
                )
                assert row[g_col] == pytest.approx(g, rel=1e-12)
                assert row[f"{wall}_z"] == pytest.approx(
                    abs(row["spot"] - row[wall]) / (real[d]["vix"] * row["spot"] * math.sqrt(H_YEARS))
                )


def test_real_zero_gamma_and_walls(real):
    # what the real records give (regression values, SPX index points; see the report)
    w = {d: real[d]["summary"].filter(pl.col("aggregation") == "weighted").row(0, named=True) for d in USABLE}
    assert w[dt.date(2015, 12, 22)]["zero_gamma"] == pytest.approx(2062.1, abs=0.5)
    assert w[dt.date(2015, 12, 22)]["wall_1"] == 2170.0
    assert (w[dt.date(2015, 12, 23)]["wall_1"], w[dt.date(2015, 12, 23)]["wall_2"]) == (1975.0, 2225.0)
    assert w[dt.date(2015, 12, 23)]["zero_gamma"] == pytest.approx(2102.1, abs=0.5)
    assert w[dt.date(2021, 1, 4)]["zero_gamma"] == pytest.approx(3403.7, abs=0.5)
    assert w[dt.date(2021, 1, 4)]["wall_1"] is None  # 6 contracts: no |GEX| peak within 1% of a large-OI strike
    assert w[dt.date(2023, 6, 23)]["zero_gamma"] is None  # 12 SPXW rows: no material crossing
    assert w[dt.date(2023, 6, 23)]["wall_1"] == 4450.0


def test_immaterial_tail_crossings_are_not_zero_gamma(real):
    # 2023-06-23: call and put Gaussian tails cross near 3633 at ~1e-43 of the peak |GEX|
    s = real[dt.date(2023, 6, 23)]["surface"].filter(pl.col("aggregation") == "weighted").sort("price_grid")
    grid, gex = s["price_grid"].to_numpy(), s["gex_usd_per_pct"].to_numpy()
    raw = np.flatnonzero(gex[1:] * gex[:-1] < 0)
    assert raw.size == 1 and np.abs(gex[raw[0] : raw[0] + 2]).max() < 1e-30 * np.abs(gex).max()
    assert gsummary.material_crossings(grid, gex).size == 0


def test_calibrated_object_fills_p_reject(real):
    d = dt.date(2015, 12, 23)
    cal = rejection.calibrate_rejection(analytic_events(alpha=0.8, beta=1.5), horizon=H_LABEL)
    summ = gsummary.gamma_summary_rows(
        "MES",
        d,
        real[d]["oi"],
        real[d]["surface"],
        horizon=H_LABEL,
        horizon_years=H_YEARS,
        sigma_annual=real[d]["vix"],
        calibration=cal,
    )
    row = summ.filter(pl.col("aggregation") == "weighted").row(0, named=True)
    p = 1.0 / (1.0 + math.exp(-(cal.alpha * row["wall_strength"] - cal.beta * row["wall_1_z"])))
    assert row["p_reject_wall_1"] == pytest.approx(p, rel=1e-12) and 0.0 <= row["p_reject_wall_2"] <= 1.0
    assert row["status"] == "ok" and row["calibration_version"] == cal.version and row["calib_n_events"] == cal.n_events


# ---------------------------------------------------------------------------- rejection
def analytic_events(alpha: float, beta: float, per_cell: int = 8) -> pl.DataFrame:
    """Analytic events (not market data): in each (g, z) cell exactly k of ``per_cell`` events
    reverse, with the cell chosen so that sigmoid(alpha g - beta z) = k / per_cell exactly. The
    logistic score equations then vanish at (alpha, beta), so the MLE IS (alpha, beta)."""
    rows = []
    for g, k in [(0.5, 1), (1.0, 2), (1.5, 3), (2.0, 4), (2.5, 5), (3.0, 6), (3.5, 7), (1.2, 5), (2.8, 2)]:
        logit = math.log(k / (per_cell - k))
        z = (alpha * g - logit) / beta
        rows += [{"g": g, "z": z, "reversed": int(i < k)} for i in range(per_cell)]
    return pl.DataFrame(rows, schema={"g": pl.Float64, "z": pl.Float64, "reversed": pl.Int64})


def test_calibrate_rejection_analytic_recovers_alpha_beta():
    ev = analytic_events(alpha=0.8, beta=1.5)
    cal = rejection.calibrate_rejection(ev, horizon="1w")
    assert cal.status == "calibrated" and cal.n_events == ev.height == 72
    assert cal.alpha == pytest.approx(0.8, abs=1e-8) and cal.beta == pytest.approx(1.5, abs=1e-8)
    assert cal.version.startswith("wall-reject-v1|h=1w|n=72|sha=")
    assert rejection.calibrate_rejection(ev.reverse(), horizon="1w").version == cal.version  # order-free hash


def test_uncalibrated_with_few_events():
    cal = rejection.calibrate_rejection(analytic_events(0.8, 1.5).head(12), horizon="1w")
    assert cal.status == "uncalibrated" and cal.alpha is None and "12 < 30" in cal.calibration.reason


def test_event_definition_on_real_es_daily_bars(root):
    es = ReplayMarketData(root).daily_bars("ES", dt.date(2015, 12, 1), dt.date(2016, 1, 29))
    walls = {
        # 2015-12-24 ES: O 2046.0 H 2053.0 C 2044.5 -> touches 2053 on bar 0, closes below 2053 - theta
        dt.date(2015, 12, 23): [rejection.Wall(2053.0, 2.0, "above_reverse")],
        # 2016-01-06 ES: O 2004.0 L 1964.0 C 1979.75 -> touches 1990 on bar 0, closes below 1990 - theta
        dt.date(2016, 1, 5): [rejection.Wall(1990.0, 2.0, "below_break")],
        # far above anything within 5 bars
        dt.date(2015, 12, 22): [rejection.Wall(2300.0, 2.0, "untouched")],
    }
    ev, counts = rejection.rejection_events(
        es, walls, sigma_annual=0.16, horizon_years=H_YEARS, horizon_bars=5, reverse_bars=3
    )
    assert counts["walls"] == 3 and counts["events"] == 2 and counts["no_touch"] == 1 and counts["reversed"] == 1
    by = {r["wall_label"]: r for r in ev.iter_rows(named=True)}
    assert by["above_reverse"]["side"] == "above" and by["above_reverse"]["reversed"] == 1
    assert by["above_reverse"]["touch_time"] == "2015-12-24" and by["above_reverse"]["p0"] == 2046.0
    assert by["below_break"]["side"] == "below" and by["below_break"]["reversed"] == 0
    assert by["above_reverse"]["z"] == pytest.approx((2053.0 - 2046.0) / (0.16 * 2046.0 * math.sqrt(H_YEARS)))


def test_real_events_are_too_few_to_calibrate(real, root):
    # Walls from the real SPX stand-in on dates with recorded ES bars after them (2015-12-22/23;
    # 2021-01-04 and 2023-06-23 have no ES bars after the date), moved into ES scale by the
    # recorded basis ES close - SPX spot of that date.
    es = ReplayMarketData(root).daily_bars("ES", dt.date(2015, 12, 1), dt.date(2016, 2, 29))
    summary = pl.concat([real[d]["summary"] for d in USABLE])
    offsets = {}
    for d, spot in summary.filter(pl.col("aggregation") == "weighted").select("date", "spot").iter_rows():
        close = es.filter(pl.col("date") == d)["close"]
        if close.len():
            offsets[d] = float(close[0]) - spot
    assert set(offsets) == {dt.date(2015, 12, 22), dt.date(2015, 12, 23)}
    walls = rejection.walls_from_summary(summary, offsets=offsets)
    sigma = {d: real[d]["vix"] for d in USABLE}
    ev, counts = rejection.rejection_events(
        es, walls, sigma_annual=sigma, horizon_years=H_YEARS, horizon_bars=5, reverse_bars=3
    )
    assert counts["walls"] == 3 and counts["events"] == ev.height == 0 and counts["no_touch"] == 3
    cal = rejection.calibrate_rejection(ev, horizon=H_LABEL)
    assert cal.status == "uncalibrated" and cal.calibration.reason == "too few events: 0 < 30"
    assert cal.version.startswith("wall-reject-v1|h=1w|n=0|")


def test_event_window_on_real_es_minute_bars_starts_at_the_next_globex_session(data_root):
    # walls of D are known after D's close: the window opens at 18:00 America/New_York on D
    # (23:00 UTC before the 2023-03-12 DST switch, 22:00 UTC after it)
    md = ReplayMarketData(Path(data_root))
    utc = dt.UTC
    bars = md.minute_bars("MES", dt.datetime(2023, 3, 8, tzinfo=utc), dt.datetime(2023, 3, 15, tzinfo=utc))
    for d, first in [
        (dt.date(2023, 3, 8), dt.datetime(2023, 3, 8, 23, tzinfo=utc)),
        (dt.date(2023, 3, 13), dt.datetime(2023, 3, 13, 22, tzinfo=utc)),
    ]:
        after = bars.filter(pl.col("ts_event") >= first)
        assert after["ts_event"][0] == first
        level = float(after.head(30)["high"].max())  # a real price reached within 30 bars
        ev, counts = rejection.rejection_events(
            bars,
            {d: [rejection.Wall(level, 1.0, "w")]},
            sigma_annual=0.2,
            horizon_years=horizon("60m").years,
            horizon_bars=60,
            reverse_bars=12,
            reverse_frac=0.0005,
        )
        assert counts["events"] == 1 and ev["p0"][0] == after["open"][0] and ev["side"][0] == "above"
        touch = int(np.argmax(after["high"].to_numpy() >= level))
        assert ev["touch_bar"][0] == touch and ev["touch_time"][0] == str(after["ts_event"][touch])
