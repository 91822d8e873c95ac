-- Daily futures bars as recorded (Databento ohlcv-1d, or a labelled vendor replay).
CREATE TABLE IF NOT EXISTS market_data.databento_futures_ohlcv_1d (
  date DATE NOT NULL,           -- trade date
  symbol STRING NOT NULL,
  open FLOAT64,
  high FLOAT64,
  low FLOAT64,
  close FLOAT64,                -- last trade of the day session
  volume INT64,
  open_interest INT64,
  source_symbol STRING,         -- the contract or continuous series recorded, e.g. 'ZLZ25'
  is_proxy BOOL,
  source STRING,
  ingested_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
