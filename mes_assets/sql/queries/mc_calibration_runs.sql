-- Every stored MC calibration of one symbol, newest run first.
SELECT *
FROM backtesting.mc_calibration
WHERE symbol = @symbol
ORDER BY computed_at DESC
