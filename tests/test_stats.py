import numpy as np
import pytest
from scipy import stats

from audiorec.reporting.stats import holm, paired_tests, t_interval


def test_holm_matches_the_textbook_example():
    # Holm (1979) step-down: sorted p * (m - rank), made monotone, capped at 1
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02])


def test_holm_ignores_nan_and_caps_at_one():
    out = holm([0.5, np.nan, 0.9])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [1.0, 1.0])


def test_t_interval_matches_scipy(rng):
    x = rng.normal(0.3, 0.1, 50)
    mean, low, high = t_interval(x, 0.95)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (low, high) == pytest.approx(ref)
    assert mean == pytest.approx(x.mean())


def test_paired_tests_detect_a_shift_and_not_noise(rng):
    base = rng.random(200)
    shifted = paired_tests(base + 0.05 + rng.normal(0, 0.01, 200), base)
    assert shifted["p_wilcoxon"] < 1e-6 and shifted["p_ttest"] < 1e-6
    same = paired_tests(base, base)
    assert same["p_wilcoxon"] == 1.0 and same["p_ttest"] == 1.0
    noise = paired_tests(base + rng.normal(0, 0.05, 200), base)
    assert noise["p_ttest"] > 0.01


def test_paired_tests_refuse_unpaired_samples():
    with pytest.raises(ValueError):
        paired_tests(np.zeros(3), np.zeros(4))
