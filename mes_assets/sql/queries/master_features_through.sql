-- One symbol's features up to a date, by date.
SELECT *
FROM features.master_features
WHERE symbol = @symbol AND date <= @end_date
ORDER BY date
