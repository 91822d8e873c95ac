-- One symbol's model-health rows in a date range.
SELECT *
FROM predictions.model_metrics
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
