-- One symbol's stored forecasts in a date range.
SELECT *
FROM predictions.quantiles
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
