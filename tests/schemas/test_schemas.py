import pyarrow as pa
import pytest

from schemas import DEAD_LETTERS_V1, MANIFEST_V1, NODES_V1, PROBLEMS_V1, STEP_KINDS, field_docs, schema_tag

ALL = [PROBLEMS_V1, NODES_V1, MANIFEST_V1, DEAD_LETTERS_V1]


@pytest.mark.parametrize("schema", ALL, ids=lambda s: schema_tag(s))
def test_every_field_is_documented_and_schema_versioned(schema):
    docs = field_docs(schema)
    assert all(len(doc) > 10 for doc in docs.values()), [k for k, v in docs.items() if len(v) <= 10]
    name, version = schema_tag(schema).split("/")
    assert version == "v1" and name


def test_node_schema_has_what_the_issue_lists():
    required = {"run_id", "problem_id", "node_id", "parent_id", "depth", "step_text", "step_kind", "code",
                "exec_output", "is_terminal", "extracted_answer", "verdict", "verdict_method", "visits",
                "value_sum", "q_value", "prior_logprob", "num_tokens", "model_id", "search_config_hash", "created_at"}
    assert required <= set(NODES_V1.names)
    assert STEP_KINDS == ("root", "text", "code", "answer")


def test_writer_rejects_rows_that_break_the_schema():
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError)):
        pa.Table.from_pylist([{"problem_id": "a", "source": "s", "question": 3, "gold_answer": "1", "metadata": "{}"}],
                             schema=PROBLEMS_V1)
    table = pa.Table.from_pylist([{"problem_id": "a", "source": "s", "question": "q", "gold_answer": "1", "metadata": "{}"}],
                                 schema=PROBLEMS_V1)
    assert table.schema.field("question").metadata[b"doc"]
