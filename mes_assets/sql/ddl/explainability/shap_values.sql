-- Per-prediction SHAP contributions, long format: one row per date, horizon, quantile and feature.
-- Exact TreeSHAP from XGBoost (pred_contribs=True); contributions are in the model output's units.
-- Additivity: base_value + SUM(shap_value) over the features of one prediction = that prediction.
CREATE TABLE IF NOT EXISTS explainability.shap_values (
  date DATE NOT NULL,            -- date of the prediction (as in predictions.quantiles)
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,       -- '1w', '1m', '5m', '15m', '60m'
  quantile FLOAT64 NOT NULL,     -- quantile of the model output explained, e.g. 0.5
  feature STRING NOT NULL,       -- column of features.master_features
  shap_value FLOAT64,            -- contribution to the prediction, model output units
  feature_value FLOAT64,         -- the feature's value the model saw; NULL when missing
  base_value FLOAT64,            -- expected model output (bias term), same on every row of one prediction
  model_version STRING,
  feature_group STRING,          -- 'vix', 'yield', 'trump', 'cot' or 'other', under the group map in force when written
  origin_ts TIMESTAMP            -- intraday horizons: bar close the forecast was made at (NULL for daily)
)
PARTITION BY date
CLUSTER BY symbol;
