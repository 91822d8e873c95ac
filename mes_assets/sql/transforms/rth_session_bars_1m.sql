-- One daily bar per session from one-minute bars: the RTH high / low / close (MES features), stamped
-- with the session's RTH close, when that bar became knowable.
SELECT
  summary.date,
  summary.symbol,
  summary.session_id,
  summary.rth_high AS high,
  summary.rth_low AS low,
  summary.rth_close AS close,
  sessions.rth_close AS bar_end
FROM market_data.vw_rth_session_summary AS summary
JOIN dim.exchange_sessions AS sessions
  ON sessions.symbol = summary.symbol AND sessions.session_id = summary.session_id
WHERE summary.symbol = @symbol
  AND summary.date BETWEEN @start_date AND @end_date
ORDER BY summary.date
