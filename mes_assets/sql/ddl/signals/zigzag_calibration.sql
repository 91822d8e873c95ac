-- Zig-zag k calibration per instrument: the whole sweep (one row per k), the chosen k flagged.
-- date = last session of the history the sweep ran on. A false signal is a confirmed swing whose
-- pivot price is broken within horizon_bars after confirmation (mes_assets/kernels/calibration.py).
CREATE TABLE IF NOT EXISTS signals.zigzag_calibration (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  calibration_version STRING NOT NULL,
  k FLOAT64,
  n_pivots INT64,
  n_evaluated INT64,            -- pivots whose whole horizon window was recorded
  n_false INT64,
  false_signal_rate FLOAT64,
  mean_lag_bars FLOAT64,        -- confirmation bar minus pivot bar
  median_lag_bars FLOAT64,
  horizon_bars INT64,
  atr_bar STRING,
  is_chosen BOOL,
  status STRING,                -- 'calibrated' or 'uncalibrated' (then no row is chosen)
  rule STRING,
  history_start DATE,
  history_end DATE,
  bar_count INT64,
  computed_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
