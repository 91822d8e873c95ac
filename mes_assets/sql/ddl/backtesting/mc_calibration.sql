-- Out-of-sample calibration of the Monte-Carlo tap probabilities (SPEC section 8, `mes-assets
-- backtest mc`): at every origin of the recorded history, the model's tap probability for the
-- day's levels against whether price actually touched within the horizon, scored by Brier score,
-- a reliability table and the calibration slope, next to a closed-form driftless baseline with
-- trailing realized vol on the same origins. The chosen VIX/realized weight is what mc_touches
-- blends from the date of the run on.
CREATE TABLE IF NOT EXISTS backtesting.mc_calibration (
  date DATE NOT NULL,            -- last origin date of the backtest (the calibration is public from then on)
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,
  calibration_version STRING NOT NULL,
  status STRING NOT NULL,        -- 'calibrated' or 'uncalibrated' (too few scored origin-levels)
  vix_weight FLOAT64,            -- w in sigma = w * VIX + (1 - w) * realized; NULL when uncalibrated
  n_origins INT64,
  n_forecasts INT64,             -- scored origin x level pairs
  first_origin DATE,
  brier_model FLOAT64,           -- with the chosen weight
  brier_baseline FLOAT64,        -- closed-form driftless first passage, trailing realized vol
  brier_skill FLOAT64,           -- 1 - brier_model / brier_baseline
  calibration_slope FLOAT64,     -- logistic slope of outcome on logit(p): 1 = calibrated, < 1 overconfident
  calibration_intercept FLOAT64,
  baseline_slope FLOAT64,
  base_rate FLOAT64,             -- share of origin-levels actually touched
  reliability_json STRING,       -- per decile: edges, mean forecast, observed frequency, count
  candidates_json STRING,        -- Brier score of every VIX weight tried
  elapsed_s FLOAT64,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
