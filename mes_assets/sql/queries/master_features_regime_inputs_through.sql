-- One symbol's daily return and VIX up to a date, by date (the regime's inputs).
SELECT date, ret_1d, fred_vix
FROM features.master_features
WHERE symbol = @symbol AND date <= @end_date
ORDER BY date
