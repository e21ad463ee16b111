import pytest

from tests.tables import assert_same_rows


def test_floats_within_tolerance_are_the_same_row_and_nothing_else_is():
    row = {"text": "a", "logprob": -150.26391, "qs": [0.5, -1.0], "n": 3}
    assert_same_rows([row], [{**row, "logprob": -150.26488, "qs": [0.50001, -1.0]}])
    for changed in ({"text": "b"}, {"logprob": -151.0}, {"qs": [0.5]}, {"n": 4}, {"n": 3.0001}):
        with pytest.raises(AssertionError):
            assert_same_rows([row], [{**row, **changed}])
    with pytest.raises(AssertionError):
        assert_same_rows([row], [row, row])
