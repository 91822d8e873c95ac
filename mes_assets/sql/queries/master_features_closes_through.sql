-- One symbol's session closes up to a date.
SELECT date, close
FROM features.master_features
WHERE symbol = @symbol AND date <= @end_date
