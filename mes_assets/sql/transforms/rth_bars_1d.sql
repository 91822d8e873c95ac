-- Daily bars for one instrument and a date range, stamped with the RTH close of their session:
-- the bars ZL's zig-zag and ATR run on (the close is the day-session close).
SELECT
  bars.date,
  bars.symbol,
  sessions.session_id,
  sessions.rth_open AS bar_start,
  sessions.rth_close AS bar_end,
  bars.open,
  bars.high,
  bars.low,
  bars.close,
  bars.volume
FROM market_data.databento_futures_ohlcv_1d AS bars
JOIN dim.exchange_sessions AS sessions
  ON sessions.symbol = bars.symbol AND sessions.date = bars.date
WHERE bars.symbol = @symbol
  AND bars.date BETWEEN @start_date AND @end_date
ORDER BY bars.date
