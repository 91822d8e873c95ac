-- The k sweep of one symbol's newest zig-zag calibration, by k.
SELECT k, n_pivots, n_evaluated, false_signal_rate, mean_lag_bars, is_chosen, status
FROM signals.zigzag_calibration
WHERE symbol = @symbol
  AND date = (SELECT MAX(date) FROM signals.zigzag_calibration WHERE symbol = @symbol)
ORDER BY k
