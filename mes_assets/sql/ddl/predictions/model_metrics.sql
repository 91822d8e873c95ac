-- Rolling out-of-sample calibration of the quantile model: coverage, pinball loss, crossing rate,
-- over the window_days sessions ending on date (forecasts whose outcome was known by date).
-- Feeds the checklist's model-health check.
CREATE TABLE IF NOT EXISTS predictions.model_metrics (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,
  window_days INT64 NOT NULL,    -- e.g. 60
  n_obs INT64,                   -- forecasts with a realised outcome in the window
  coverage_80 FLOAT64,           -- share of outcomes inside [p10, p90]; nominal 0.80
  coverage_50 FLOAT64,           -- share inside [p25, p75]; nominal 0.50
  pinball_p10 FLOAT64,           -- mean pinball loss per quantile, price units
  pinball_p25 FLOAT64,
  pinball_p50 FLOAT64,
  pinball_p75 FLOAT64,
  pinball_p90 FLOAT64,
  pinball_mean FLOAT64,          -- mean over the five quantiles
  pinball_mean_change FLOAT64,   -- vs the preceding window; negative = improving
  crossing_rate FLOAT64,         -- share of raw forecasts whose quantiles crossed before sorting
  kupiec_p_value FLOAT64,        -- Kupiec POF test of coverage_80 against 0.80
  model_version STRING,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
