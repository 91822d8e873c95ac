-- Quantile forecasts (XGBoost reg:quantileerror, walk-forward, point-in-time features) per date
-- and horizon, in price units: the pinball bands on every main chart. Quantiles are sorted to
-- remove crossing; crossing_fixed says the raw outputs crossed and were re-ordered. Daily horizons
-- have one row per date, symbol, horizon; intraday horizons (MES 5m/15m/60m) one per origin_ts.
CREATE TABLE IF NOT EXISTS predictions.quantiles (
  date DATE NOT NULL,            -- forecast date (features as of this session's close)
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,       -- '1w', '1m', '5m', '15m', '60m'
  p10 FLOAT64,                   -- price at the horizon end, price units
  p25 FLOAT64,
  p50 FLOAT64,
  p75 FLOAT64,
  p90 FLOAT64,
  crossing_fixed BOOL,
  model_version STRING,
  trained_through DATE,          -- last label date the model was trained on (< date: no lookahead)
  ref_price FLOAT64,             -- price the forecast starts from (return quantile = p / ref_price - 1)
  target_date DATE,              -- session the horizon ends on, for daily horizons
  feature_asof TIMESTAMP,        -- features.master_features.feature_asof of the row used
  computed_at TIMESTAMP,
  conformal_n INT64,             -- earlier out-of-sample forecasts behind the CQR margins (0: raw bands)
  margin_80 FLOAT64,             -- CQR margin added to both ends of [p10, p90], log-return units; NULL = raw
  margin_50 FLOAT64,             -- CQR margin added to both ends of [p25, p75], log-return units; NULL = raw
  origin_ts TIMESTAMP,           -- intraday horizons: bar close the forecast is made at (NULL for daily)
  target_ts TIMESTAMP            -- intraday horizons: bar close the horizon ends at (NULL for daily)
)
PARTITION BY date
CLUSTER BY symbol;
