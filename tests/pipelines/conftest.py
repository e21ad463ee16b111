"""Fixtures shared by the pipeline tests."""

import pytest

from pipelines.label import run as label
from tests.transforms.labels.hand_trees import write_hand_trees


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """The hand trees stored like generate does, then labelled by the label pipeline."""
    out = tmp_path_factory.mktemp("labelled")
    write_hand_trees(out)
    label(["--shards", str(out)])
    return out
