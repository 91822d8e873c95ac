-- Dealer gamma exposure re-priced over a price grid (about 0.8F..1.2F), per expiry and combined.
-- Black-76 gamma = exp(-rT) phi(d1) / (F sigma sqrt T); GEX in USD per 1% move =
-- sign * gamma * OI * multiplier * F^2 * 0.01, with F = the grid price.
-- Dealer sign convention (default): dealers are long calls and short puts, so call OI adds
-- +gamma and put OI adds -gamma. Positive gex = dealers long gamma (they sell rallies, buy dips);
-- negative = dealers short gamma. dealer_convention records the convention each row used.
CREATE TABLE IF NOT EXISTS derivatives.gex_surface (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  expiry DATE NOT NULL,          -- the expiry; for aggregation = 'weighted', the nearest one combined
  price_grid FLOAT64 NOT NULL,   -- underlying price the gammas are re-priced at
  gex_usd_per_pct FLOAT64,       -- net dealer GEX (calls + puts), USD per 1% move of the underlying
  call_gex_usd_per_pct FLOAT64,  -- call part, after the dealer sign
  put_gex_usd_per_pct FLOAT64,   -- put part, after the dealer sign
  aggregation STRING NOT NULL,   -- 'expiry' (this expiry alone) or 'weighted' (front expiries combined)
  time_weight FLOAT64,           -- weight of this expiry in the combination (nearer heavier); 1 for 'weighted'
  n_expiries INT64,              -- expiries in the row: 1, or how many were combined
  spot FLOAT64,                  -- underlying futures price on date (F at the grid centre)
  grid_pct_of_spot FLOAT64,      -- price_grid / spot * 100
  risk_free_rate FLOAT64,        -- continuously compounded annual rate used for discounting (fraction)
  dealer_convention STRING,      -- 'long_calls_short_puts' (default)
  calc_version STRING
)
PARTITION BY date
CLUSTER BY symbol;
