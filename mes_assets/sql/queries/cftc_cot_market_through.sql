-- One CFTC market's COT reports released up to a date (every format), by report date.
SELECT *
FROM raw_intelligence.cftc_cot
WHERE market_code = @market AND date <= @end_date
ORDER BY report_date
