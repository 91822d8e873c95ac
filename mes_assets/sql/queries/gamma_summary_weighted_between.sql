-- One symbol's gamma summary (expiries combined by time weight) in a date range.
SELECT *
FROM derivatives.gamma_summary
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
  AND aggregation = 'weighted'
