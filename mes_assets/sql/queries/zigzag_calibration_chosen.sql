-- The k of one symbol's newest calibration that chose one.
SELECT k, calibration_version
FROM signals.zigzag_calibration
WHERE symbol = @symbol AND is_chosen AND status = 'calibrated'
ORDER BY date DESC, computed_at DESC
LIMIT 1
