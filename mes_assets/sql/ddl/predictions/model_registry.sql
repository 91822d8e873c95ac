-- Every quantile model fitted by the walk-forward (one row per refit): what it was trained on and
-- with which parameters, so any stored prediction can be traced to its model.
CREATE TABLE IF NOT EXISTS predictions.model_registry (
  date DATE NOT NULL,            -- train_end: last session whose label was public at fit time
  symbol STRING NOT NULL,
  horizon STRING NOT NULL,
  model_version STRING NOT NULL,
  train_start DATE,
  train_end DATE,
  n_train INT64,
  objective STRING,              -- 'reg:quantileerror' with quantile_alpha 0.1..0.9
  params_json STRING,
  features_json STRING,
  created_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
