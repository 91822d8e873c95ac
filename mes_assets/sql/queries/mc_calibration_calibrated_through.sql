-- One symbol's calibrated MC vol blends stored up to a date, by date.
SELECT date, horizon, vix_weight, calibration_version
FROM backtesting.mc_calibration
WHERE symbol = @symbol AND date <= @end_date AND status = 'calibrated'
ORDER BY date
