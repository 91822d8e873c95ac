"""Force-line smoothing against its direct definition (analytic inputs, not market data).

``force_lines`` computes the expanding 1%/99% clip with one sorted insert per date and the pooled sd
from running sums; the definitions are ``np.quantile`` and ``np.std`` over every prefix.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mes_assets.forecast.shap_groups import CLIP_QUANTILES, _expanding_clip, _expanding_pooled_sd

values = st.lists(
    st.floats(-1e-2, 1e-2, allow_subnormal=False) | st.sampled_from([0.0, 5e-3, -5e-3]), min_size=1, max_size=300
)


@settings(max_examples=80, deadline=None)
@given(values)
def test_expanding_clip_equals_np_quantile_of_every_prefix(xs) -> None:
    x = np.asarray(xs)
    expected = np.array(
        [
            min(max(x[t], np.quantile(x[: t + 1], CLIP_QUANTILES[0])), np.quantile(x[: t + 1], CLIP_QUANTILES[1]))
            for t in range(x.size)
        ]
    )
    assert np.array_equal(_expanding_clip(x), expected)  # same interpolation formula: bit for bit


@settings(max_examples=80, deadline=None)
@given(values, st.floats(-0.05, 0.05))
def test_expanding_pooled_sd_equals_np_std_of_every_prefix(xs, offset) -> None:
    four = np.add.outer(np.asarray(xs), np.array([0.0, 1e-3, -2e-3, 4e-4])) + offset
    expected = np.array([four[: t + 1].std() for t in range(four.shape[0])])
    np.testing.assert_allclose(_expanding_pooled_sd(four), expected, rtol=1e-9, atol=1e-15)
