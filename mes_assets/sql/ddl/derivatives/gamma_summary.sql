-- Zero-gamma line, the two dealer walls and their rejection probabilities, per expiry and date.
-- zero_gamma is the sign change of the GEX surface nearest spot; every crossing is kept in
-- zero_gamma_crossings. With no crossing zero_gamma is NULL and status says so. p_reject =
-- sigmoid(alpha g - beta z) with alpha, beta fitted on real first-touch-then-reverse events; with
-- too few events p_reject is NULL and status is 'uncalibrated', never a guessed alpha.
-- Seed columns first, added columns after.
CREATE TABLE IF NOT EXISTS derivatives.gamma_summary (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  expiry DATE NOT NULL,          -- for aggregation = 'weighted', the nearest expiry combined
  zero_gamma FLOAT64,            -- price where net dealer GEX changes sign nearest spot
  wall_1 FLOAT64,                -- strongest wall: local extremum of |GEX| at a large-OI strike
  wall_2 FLOAT64,
  wall_strength FLOAT64,         -- g of wall_1: |dGEX/dP| at the wall / median |dGEX/dP| on the grid
  p_reject_wall_1 FLOAT64,       -- in [0, 1]; NULL when uncalibrated
  p_reject_wall_2 FLOAT64,
  status STRING,                 -- 'ok', 'no_zero_crossing', 'uncalibrated', 'no_options_data'
  zero_gamma_crossings ARRAY<FLOAT64>, -- every sign change of the surface, ascending price
  aggregation STRING,            -- 'expiry' (this expiry alone) or 'weighted' (front expiries combined)
  spot FLOAT64,                  -- underlying futures price on date
  net_gex_at_spot_usd_per_pct FLOAT64, -- dealer GEX at spot, USD per 1% move (sign: see gex_surface)
  wall_1_gex_usd_per_pct FLOAT64,
  wall_2_gex_usd_per_pct FLOAT64,
  wall_1_z FLOAT64,              -- |spot - wall_1| / (sigma_F sqrt H): distance in horizon sd
  wall_2_z FLOAT64,
  wall_2_g FLOAT64,              -- g of wall_2 (wall_strength is g of wall_1)
  reject_horizon STRING,         -- H the z-scores and p_reject refer to, e.g. '1w', '60m'
  calib_alpha FLOAT64,           -- alpha, beta of the calibration used; NULL when uncalibrated
  calib_beta FLOAT64,
  calib_n_events INT64,          -- first-touch events the calibration was fitted on
  calibration_version STRING,
  calc_version STRING
)
PARTITION BY date
CLUSTER BY symbol;
