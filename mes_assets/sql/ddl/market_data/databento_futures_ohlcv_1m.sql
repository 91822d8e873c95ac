-- One-minute futures bars as recorded (Databento GLBX.MDP3 ohlcv-1m, or a labelled proxy replay).
-- date = the exchange trading session the bar belongs to (from dim.exchange_sessions).
CREATE TABLE IF NOT EXISTS market_data.databento_futures_ohlcv_1m (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  ts_event TIMESTAMP NOT NULL,  -- bar start, UTC
  open FLOAT64,
  high FLOAT64,
  low FLOAT64,
  close FLOAT64,
  volume INT64,
  source_symbol STRING,         -- the contract actually recorded, e.g. 'ES' standing in for MES
  is_proxy BOOL,                -- TRUE when source_symbol differs from symbol
  source STRING,                -- provenance: vendor, file or dataset
  ingested_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
