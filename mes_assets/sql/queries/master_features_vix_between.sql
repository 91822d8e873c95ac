-- One symbol's VIX feature (percent, FRED VIXCLS as known at the close) in a date range.
SELECT date, fred_vix
FROM features.master_features
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
