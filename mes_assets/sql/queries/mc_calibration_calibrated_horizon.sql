-- One symbol's calibrated MC vol blends of one horizon, by date.
SELECT date, horizon, vix_weight, calibration_version
FROM backtesting.mc_calibration
WHERE symbol = @symbol AND status = 'calibrated' AND horizon = @horizon
ORDER BY date
