-- End-of-day options open interest and settlement per strike (CME EOD / Databento statistics),
-- front expiries only. One row per date, option contract. MES rows exist only in the private
-- warehouse. The six SPEC columns follow date and symbol in the SPEC's order; added columns after.
CREATE TABLE IF NOT EXISTS derivatives.options_oi_raw (
  date DATE NOT NULL,            -- trade date the settlement and OI belong to
  symbol STRING NOT NULL,        -- instrument the overlay is for, e.g. 'ZL', 'MES'
  strike FLOAT64,                -- in the underlying's price units
  call_put STRING,               -- 'C' or 'P'
  oi INT64,                      -- open interest, contracts
  settle FLOAT64,                -- option settlement price, underlying price units
  expiry DATE,                   -- option expiration date
  multiplier FLOAT64,            -- USD per one point of the underlying price, per contract
  underlying_symbol STRING,      -- futures contract the option is on, e.g. 'ZLF6', 'ESZ5'
  underlying_price FLOAT64,      -- that futures contract's settlement on date
  implied_vol FLOAT64,           -- annualised Black-76 implied vol (fraction); NULL when not derivable
  option_symbol STRING,          -- the vendor's option contract symbol
  instrument_id INT64,           -- vendor instrument id (Databento), when known
  source STRING,                 -- provenance: vendor, dataset or file
  ingested_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY symbol;
