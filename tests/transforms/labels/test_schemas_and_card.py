"""The derived-table schemas are versioned and documented; the dataset card's YAML header."""

import pyarrow as pa
import pytest
import yaml

from schemas import PAIRS_V1, SFT_V1, STEPS_V1, TRL_PREFERENCE_V1, TRL_SFT_V1, TRL_STEPWISE_V1, field_docs, schema_tag
from transforms.labels.card import CardFacts, Config, dataset_card

DERIVED = [STEPS_V1, PAIRS_V1, SFT_V1, TRL_STEPWISE_V1, TRL_PREFERENCE_V1, TRL_SFT_V1]


@pytest.mark.parametrize("schema", DERIVED, ids=schema_tag)
def test_every_field_is_documented_and_schema_versioned(schema):
    docs = field_docs(schema)
    assert all(len(doc) > 10 for doc in docs.values()), [k for k, v in docs.items() if len(v) <= 10]
    name, version = schema_tag(schema).split("/")
    assert version == "v1" and name


def test_card_lists_only_configs_with_rows_and_escapes_table_cells():
    configs = (Config("pairs", 3, 1000, PAIRS_V1, "Pairs."), Config("sft", 0, 0, SFT_V1, "SFT."))
    card = dataset_card(CardFacts(title="T", configs=configs, made=(("search", "a|b"),), label_options={"x": 1},
                                  counts=(("pairs", 3),), plots=(("Q", "plots/q_values.png"),), repo="me/data"))
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"] == [{"config_name": "pairs", "default": True,
                                  "data_files": [{"split": "train", "path": "data/pairs/*.parquet"}]}]
    # num_bytes too: datasets reads a split without it as malformed (and warns)
    assert header["dataset_info"][0]["splits"] == [{"name": "train", "num_bytes": 1000, "num_examples": 3}]
    assert "| search | a\\|b |" in card and "![Q](plots/q_values.png)" in card
    assert 'load_dataset("me/data", "pairs", split="train")' in card and "not listed" in card
    assert pa.types.is_list(PAIRS_V1.field("prefix").type)
