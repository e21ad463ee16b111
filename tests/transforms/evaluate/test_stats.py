"""Wilson intervals and ROC AUC, with numbers worked by hand."""

import pytest

from transforms.evaluate.stats import Z95, roc_auc, wilson_interval


def test_wilson_interval_by_hand():
    # 0/10: p = 0, z^2 = 3.8415, denominator 1.38415; centre = (3.8415 / 20) / 1.38415 = 0.138766,
    # half = 1.95996 / 1.38415 * sqrt(3.8415 / 400) = 0.138766 -> (0, 0.27753)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.277533, abs=1e-5)
    # 5/10: centre 0.5, half = 1.41600 * sqrt(0.025 + 0.0096037) = 0.263405
    assert wilson_interval(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-5)
    # 10/10 mirrors 0/10
    assert wilson_interval(10, 10) == pytest.approx((1 - 0.277533, 1.0), abs=1e-5)
    assert Z95 == pytest.approx(1.959964, abs=1e-6)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_roc_auc_by_hand():
    # positives 0.9, 0.3; negatives 0.8, 0.3. Pairs: 0.9>0.8 (1), 0.9>0.3 (1), 0.3<0.8 (0), 0.3=0.3 (1/2) -> 2.5/4
    assert roc_auc([0.9, 0.8, 0.3, 0.3], [True, False, True, False]) == pytest.approx(0.625)
    assert roc_auc([0.1, 0.2, 0.3], [False, False, True]) == 1.0
    assert roc_auc([0.1, 0.2, 0.3], [True, True, False]) == 0.0
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5
    assert roc_auc([0.1, 0.2], [True, True]) is None
    with pytest.raises(ValueError):
        roc_auc([0.1], [True, False])
