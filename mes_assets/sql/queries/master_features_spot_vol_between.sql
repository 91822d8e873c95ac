-- One symbol's close and volatility inputs in a date range.
SELECT date, close, fred_vix, realized_vol_20d
FROM features.master_features
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
