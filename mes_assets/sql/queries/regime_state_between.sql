-- One symbol's regime states in a date range.
SELECT *
FROM predictions.regime_state
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
