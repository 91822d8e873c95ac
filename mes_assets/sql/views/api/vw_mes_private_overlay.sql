-- The private MES cockpit overlay, one row per session: RTH close, the 60m pinball band of the
-- session's latest forecast origin, the Fib ladder, tap probabilities (5m/15m/60m), gamma walls
-- (SPX index-option stand-in), force lines (60m). Defined in the private warehouse only; the
-- checklist is procurement-only, so its columns are NULL here.
-- audience: private
CREATE OR REPLACE VIEW api.vw_mes_private_overlay AS
WITH bands AS (
  SELECT
    date,
    MAX(IF(horizon = '60m', p10, NULL)) AS band_60m_p10,
    MAX(IF(horizon = '60m', p25, NULL)) AS band_60m_p25,
    MAX(IF(horizon = '60m', p50, NULL)) AS band_60m_p50,
    MAX(IF(horizon = '60m', p75, NULL)) AS band_60m_p75,
    MAX(IF(horizon = '60m', p90, NULL)) AS band_60m_p90
  FROM (
    SELECT date, horizon, p10, p25, p50, p75, p90
  -- intraday horizons: the latest forecast origin of each date
  FROM predictions.quantiles
  WHERE symbol = 'MES'
  QUALIFY ROW_NUMBER() OVER (PARTITION BY date, horizon ORDER BY origin_ts DESC) = 1
  )
  GROUP BY date
),
taps AS (
  SELECT
    date,
    MAX(IF(horizon = '5m' AND level_tag = 'fib_236', tap_prob, NULL)) AS tap_5m_fib_236,
    MAX(IF(horizon = '5m' AND level_tag = 'fib_382', tap_prob, NULL)) AS tap_5m_fib_382,
    MAX(IF(horizon = '5m' AND level_tag = 'fib_500', tap_prob, NULL)) AS tap_5m_fib_500,
    MAX(IF(horizon = '5m' AND level_tag = 'fib_618', tap_prob, NULL)) AS tap_5m_fib_618,
    MAX(IF(horizon = '5m' AND level_tag = 'fib_786', tap_prob, NULL)) AS tap_5m_fib_786,
    MAX(IF(horizon = '5m' AND level_tag = 'ext_1272', tap_prob, NULL)) AS tap_5m_ext_1272,
    MAX(IF(horizon = '5m' AND level_tag = 'ext_1618', tap_prob, NULL)) AS tap_5m_ext_1618,
    MAX(IF(horizon = '5m' AND level_tag = 'zero_gamma', tap_prob, NULL)) AS tap_5m_zero_gamma,
    MAX(IF(horizon = '5m' AND level_tag = 'gamma_wall_1', tap_prob, NULL)) AS tap_5m_gamma_wall_1,
    MAX(IF(horizon = '5m' AND level_tag = 'gamma_wall_2', tap_prob, NULL)) AS tap_5m_gamma_wall_2,
    MAX(IF(horizon = '15m' AND level_tag = 'fib_236', tap_prob, NULL)) AS tap_15m_fib_236,
    MAX(IF(horizon = '15m' AND level_tag = 'fib_382', tap_prob, NULL)) AS tap_15m_fib_382,
    MAX(IF(horizon = '15m' AND level_tag = 'fib_500', tap_prob, NULL)) AS tap_15m_fib_500,
    MAX(IF(horizon = '15m' AND level_tag = 'fib_618', tap_prob, NULL)) AS tap_15m_fib_618,
    MAX(IF(horizon = '15m' AND level_tag = 'fib_786', tap_prob, NULL)) AS tap_15m_fib_786,
    MAX(IF(horizon = '15m' AND level_tag = 'ext_1272', tap_prob, NULL)) AS tap_15m_ext_1272,
    MAX(IF(horizon = '15m' AND level_tag = 'ext_1618', tap_prob, NULL)) AS tap_15m_ext_1618,
    MAX(IF(horizon = '15m' AND level_tag = 'zero_gamma', tap_prob, NULL)) AS tap_15m_zero_gamma,
    MAX(IF(horizon = '15m' AND level_tag = 'gamma_wall_1', tap_prob, NULL)) AS tap_15m_gamma_wall_1,
    MAX(IF(horizon = '15m' AND level_tag = 'gamma_wall_2', tap_prob, NULL)) AS tap_15m_gamma_wall_2,
    MAX(IF(horizon = '60m' AND level_tag = 'fib_236', tap_prob, NULL)) AS tap_60m_fib_236,
    MAX(IF(horizon = '60m' AND level_tag = 'fib_382', tap_prob, NULL)) AS tap_60m_fib_382,
    MAX(IF(horizon = '60m' AND level_tag = 'fib_500', tap_prob, NULL)) AS tap_60m_fib_500,
    MAX(IF(horizon = '60m' AND level_tag = 'fib_618', tap_prob, NULL)) AS tap_60m_fib_618,
    MAX(IF(horizon = '60m' AND level_tag = 'fib_786', tap_prob, NULL)) AS tap_60m_fib_786,
    MAX(IF(horizon = '60m' AND level_tag = 'ext_1272', tap_prob, NULL)) AS tap_60m_ext_1272,
    MAX(IF(horizon = '60m' AND level_tag = 'ext_1618', tap_prob, NULL)) AS tap_60m_ext_1618,
    MAX(IF(horizon = '60m' AND level_tag = 'zero_gamma', tap_prob, NULL)) AS tap_60m_zero_gamma,
    MAX(IF(horizon = '60m' AND level_tag = 'gamma_wall_1', tap_prob, NULL)) AS tap_60m_gamma_wall_1,
    MAX(IF(horizon = '60m' AND level_tag = 'gamma_wall_2', tap_prob, NULL)) AS tap_60m_gamma_wall_2
  FROM backtesting.mc_touches
  WHERE symbol = 'MES'
  GROUP BY date
),
lines AS (
  SELECT * FROM explainability.force_lines WHERE symbol = 'MES' AND horizon = '60m'
  QUALIFY ROW_NUMBER() OVER (PARTITION BY date ORDER BY origin_ts DESC) = 1
),
gamma AS (
  SELECT * FROM derivatives.gamma_summary WHERE symbol = 'MES' AND aggregation = 'weighted'
)
SELECT
  f.date,
  f.symbol,
  f.close,
  b.band_60m_p10,
  b.band_60m_p25,
  b.band_60m_p50,
  b.band_60m_p75,
  b.band_60m_p90,
  l.leg_dir,
  l.fib_236, l.fib_382, l.fib_500, l.fib_618, l.fib_786, l.ext_1272, l.ext_1618,
  t.tap_5m_fib_236,
  t.tap_5m_fib_382,
  t.tap_5m_fib_500,
  t.tap_5m_fib_618,
  t.tap_5m_fib_786,
  t.tap_5m_ext_1272,
  t.tap_5m_ext_1618,
  t.tap_5m_zero_gamma,
  t.tap_5m_gamma_wall_1,
  t.tap_5m_gamma_wall_2,
  t.tap_15m_fib_236,
  t.tap_15m_fib_382,
  t.tap_15m_fib_500,
  t.tap_15m_fib_618,
  t.tap_15m_fib_786,
  t.tap_15m_ext_1272,
  t.tap_15m_ext_1618,
  t.tap_15m_zero_gamma,
  t.tap_15m_gamma_wall_1,
  t.tap_15m_gamma_wall_2,
  t.tap_60m_fib_236,
  t.tap_60m_fib_382,
  t.tap_60m_fib_500,
  t.tap_60m_fib_618,
  t.tap_60m_fib_786,
  t.tap_60m_ext_1272,
  t.tap_60m_ext_1618,
  t.tap_60m_zero_gamma,
  t.tap_60m_gamma_wall_1,
  t.tap_60m_gamma_wall_2,
  g.zero_gamma, g.wall_1, g.wall_2, g.p_reject_wall_1, g.p_reject_wall_2, g.status AS gamma_status,
  s.shap_vix, s.shap_yield, s.shap_trump, s.shap_cot,
  s.shap_vix_ema, s.shap_yield_ema, s.shap_trump_ema, s.shap_cot_ema, s.plot_scale, s.p50_prediction,
  CAST(NULL AS STRING) AS verdict, CAST(NULL AS FLOAT64) AS tranche_pct, CAST(NULL AS INT64) AS checks_passed,
  CAST(NULL AS BOOL) AS check_model_health, CAST(NULL AS BOOL) AS check_regime_valid,
  CAST(NULL AS STRING) AS check_budget_risk, CAST(NULL AS BOOL) AS check_confluence,
  CAST(NULL AS BOOL) AS check_positioning, CAST(NULL AS BOOL) AS check_vol_sanity, CAST(NULL AS STRING) AS rationale
FROM features.master_features AS f
LEFT JOIN bands AS b ON b.date = f.date
LEFT JOIN signals.fib_levels AS l ON l.date = f.date AND l.symbol = f.symbol
LEFT JOIN taps AS t ON t.date = f.date
LEFT JOIN gamma AS g ON g.date = f.date
LEFT JOIN lines AS s ON s.date = f.date

WHERE f.symbol = 'MES';
