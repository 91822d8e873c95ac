-- One symbol's features in a date range.
SELECT *
FROM features.master_features
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
