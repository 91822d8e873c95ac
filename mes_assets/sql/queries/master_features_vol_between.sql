-- One symbol's volatility inputs (VIX, 20-session realized vol) in a date range.
SELECT date, fred_vix, realized_vol_20d
FROM features.master_features
WHERE symbol = @symbol AND date BETWEEN @start_date AND @end_date
