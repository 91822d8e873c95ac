-- Chris-facing ZL procurement overlay, one row per session: latest price, pinball bands (1w, 1m),
-- the Fib ladder, Monte-Carlo tap probabilities per level and horizon, gamma walls, force lines
-- (1w) and the checklist verdict. ZL only; defined in the shared warehouse only. NULL = not
-- available for that date (e.g. no options data for ZL: no gamma columns), never a filled value.
-- audience: shared
CREATE OR REPLACE VIEW api.vw_zl_strategy_overlay AS
WITH bands AS (
  SELECT
    date,
    MAX(IF(horizon = '1w', p10, NULL)) AS band_1w_p10,
    MAX(IF(horizon = '1w', p25, NULL)) AS band_1w_p25,
    MAX(IF(horizon = '1w', p50, NULL)) AS band_1w_p50,
    MAX(IF(horizon = '1w', p75, NULL)) AS band_1w_p75,
    MAX(IF(horizon = '1w', p90, NULL)) AS band_1w_p90,
    MAX(IF(horizon = '1m', p10, NULL)) AS band_1m_p10,
    MAX(IF(horizon = '1m', p25, NULL)) AS band_1m_p25,
    MAX(IF(horizon = '1m', p50, NULL)) AS band_1m_p50,
    MAX(IF(horizon = '1m', p75, NULL)) AS band_1m_p75,
    MAX(IF(horizon = '1m', p90, NULL)) AS band_1m_p90
  FROM (
    SELECT date, horizon, p10, p25, p50, p75, p90
  FROM predictions.quantiles
  WHERE symbol = 'ZL'
  )
  GROUP BY date
),
taps AS (
  SELECT
    date,
    MAX(IF(horizon = '1w' AND level_tag = 'fib_236', tap_prob, NULL)) AS tap_1w_fib_236,
    MAX(IF(horizon = '1w' AND level_tag = 'fib_382', tap_prob, NULL)) AS tap_1w_fib_382,
    MAX(IF(horizon = '1w' AND level_tag = 'fib_500', tap_prob, NULL)) AS tap_1w_fib_500,
    MAX(IF(horizon = '1w' AND level_tag = 'fib_618', tap_prob, NULL)) AS tap_1w_fib_618,
    MAX(IF(horizon = '1w' AND level_tag = 'fib_786', tap_prob, NULL)) AS tap_1w_fib_786,
    MAX(IF(horizon = '1w' AND level_tag = 'ext_1272', tap_prob, NULL)) AS tap_1w_ext_1272,
    MAX(IF(horizon = '1w' AND level_tag = 'ext_1618', tap_prob, NULL)) AS tap_1w_ext_1618,
    MAX(IF(horizon = '1w' AND level_tag = 'zero_gamma', tap_prob, NULL)) AS tap_1w_zero_gamma,
    MAX(IF(horizon = '1w' AND level_tag = 'gamma_wall_1', tap_prob, NULL)) AS tap_1w_gamma_wall_1,
    MAX(IF(horizon = '1w' AND level_tag = 'gamma_wall_2', tap_prob, NULL)) AS tap_1w_gamma_wall_2,
    MAX(IF(horizon = '1m' AND level_tag = 'fib_236', tap_prob, NULL)) AS tap_1m_fib_236,
    MAX(IF(horizon = '1m' AND level_tag = 'fib_382', tap_prob, NULL)) AS tap_1m_fib_382,
    MAX(IF(horizon = '1m' AND level_tag = 'fib_500', tap_prob, NULL)) AS tap_1m_fib_500,
    MAX(IF(horizon = '1m' AND level_tag = 'fib_618', tap_prob, NULL)) AS tap_1m_fib_618,
    MAX(IF(horizon = '1m' AND level_tag = 'fib_786', tap_prob, NULL)) AS tap_1m_fib_786,
    MAX(IF(horizon = '1m' AND level_tag = 'ext_1272', tap_prob, NULL)) AS tap_1m_ext_1272,
    MAX(IF(horizon = '1m' AND level_tag = 'ext_1618', tap_prob, NULL)) AS tap_1m_ext_1618,
    MAX(IF(horizon = '1m' AND level_tag = 'zero_gamma', tap_prob, NULL)) AS tap_1m_zero_gamma,
    MAX(IF(horizon = '1m' AND level_tag = 'gamma_wall_1', tap_prob, NULL)) AS tap_1m_gamma_wall_1,
    MAX(IF(horizon = '1m' AND level_tag = 'gamma_wall_2', tap_prob, NULL)) AS tap_1m_gamma_wall_2
  FROM backtesting.mc_touches
  WHERE symbol = 'ZL'
  GROUP BY date
),
lines AS (
  SELECT * FROM explainability.force_lines WHERE symbol = 'ZL' AND horizon = '1w'
  QUALIFY ROW_NUMBER() OVER (PARTITION BY date ORDER BY origin_ts DESC) = 1
),
gamma AS (
  SELECT * FROM derivatives.gamma_summary WHERE symbol = 'ZL' AND aggregation = 'weighted'
)
SELECT
  f.date,
  f.symbol,
  f.close,
  b.band_1w_p10,
  b.band_1w_p25,
  b.band_1w_p50,
  b.band_1w_p75,
  b.band_1w_p90,
  b.band_1m_p10,
  b.band_1m_p25,
  b.band_1m_p50,
  b.band_1m_p75,
  b.band_1m_p90,
  l.leg_dir,
  l.fib_236, l.fib_382, l.fib_500, l.fib_618, l.fib_786, l.ext_1272, l.ext_1618,
  t.tap_1w_fib_236,
  t.tap_1w_fib_382,
  t.tap_1w_fib_500,
  t.tap_1w_fib_618,
  t.tap_1w_fib_786,
  t.tap_1w_ext_1272,
  t.tap_1w_ext_1618,
  t.tap_1w_zero_gamma,
  t.tap_1w_gamma_wall_1,
  t.tap_1w_gamma_wall_2,
  t.tap_1m_fib_236,
  t.tap_1m_fib_382,
  t.tap_1m_fib_500,
  t.tap_1m_fib_618,
  t.tap_1m_fib_786,
  t.tap_1m_ext_1272,
  t.tap_1m_ext_1618,
  t.tap_1m_zero_gamma,
  t.tap_1m_gamma_wall_1,
  t.tap_1m_gamma_wall_2,
  g.zero_gamma, g.wall_1, g.wall_2, g.p_reject_wall_1, g.p_reject_wall_2, g.status AS gamma_status,
  s.shap_vix, s.shap_yield, s.shap_trump, s.shap_cot,
  s.shap_vix_ema, s.shap_yield_ema, s.shap_trump_ema, s.shap_cot_ema, s.plot_scale, s.p50_prediction,
  c.verdict, c.tranche_pct, c.checks_passed, c.check_model_health, c.check_regime_valid,
  c.check_budget_risk, c.check_confluence, c.check_positioning, c.check_vol_sanity, c.rationale
FROM features.master_features AS f
LEFT JOIN bands AS b ON b.date = f.date
LEFT JOIN signals.fib_levels AS l ON l.date = f.date AND l.symbol = f.symbol
LEFT JOIN taps AS t ON t.date = f.date
LEFT JOIN gamma AS g ON g.date = f.date
LEFT JOIN lines AS s ON s.date = f.date
LEFT JOIN signals.entry_checklist AS c ON c.date = f.date AND c.symbol = f.symbol
WHERE f.symbol = 'ZL';
