-- One CFTC market's COT reports released up to a date, one row per report date, by report date.
-- Where several report formats cover a week (e.g. ZL 2021-Q1: legacy and disaggregated), the
-- legacy report wins (its non-commercial net is the speculative position the features define),
-- then TFF (leveraged funds), then disaggregated, then the derived re-publication.
SELECT *
FROM raw_intelligence.cftc_cot
WHERE market_code = @market AND date <= @end_date
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY report_date
  ORDER BY CASE report_type
    WHEN 'legacy' THEN 0 WHEN 'tff' THEN 1 WHEN 'disaggregated' THEN 2 ELSE 3 END
) = 1
ORDER BY report_date
