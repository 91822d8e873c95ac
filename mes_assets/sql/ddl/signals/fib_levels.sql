-- Fibonacci ladder of the last confirmed zig-zag leg as of each session's RTH close, tick-snapped.
-- Retracements are measured back from the leg end; extensions project from the leg origin in the
-- leg direction (see mes_assets/kernels/fib.py). Seed columns first, added columns after.
CREATE TABLE IF NOT EXISTS signals.fib_levels (
  date DATE,
  symbol STRING,
  anchor_low FLOAT64,
  anchor_high FLOAT64,
  leg_dir STRING,               -- 'up' or 'down'
  fib_236 FLOAT64,
  fib_382 FLOAT64,
  fib_500 FLOAT64,
  fib_618 FLOAT64,
  fib_786 FLOAT64,
  ext_1272 FLOAT64,
  ext_1618 FLOAT64,
  tick_rounding FLOAT64,
  leg_start_time TIMESTAMP,     -- close time (UTC) of the origin pivot bar
  leg_end_time TIMESTAMP,       -- close time (UTC) of the end pivot bar
  confirmed_at TIMESTAMP,       -- close time (UTC) of the bar that confirmed the leg end
  atr_at_confirm FLOAT64,       -- ATR14 at confirmed_at
  zigzag_k FLOAT64,
  atr_bar STRING,
  price_source STRING,          -- provenance of the bars, e.g. 'ES proxy'
  calc_version STRING,
  origin_confirmed_at TIMESTAMP, -- close time (UTC) of the bar where the move off the origin
                                 -- first reached k x ATR14: from then on the leg existed
  atr_at_origin_confirm FLOAT64, -- ATR14 there; the leg spans at least zigzag_k times this
  zigzag_calibration_version STRING -- calibration k came from; NULL = documented default k
)
PARTITION BY date
CLUSTER BY symbol;
