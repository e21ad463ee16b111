import pytest

from schemas import EVAL_RESULTS_V1, PROCESSBENCH_V1, field_docs, schema_tag


@pytest.mark.parametrize("schema", [EVAL_RESULTS_V1, PROCESSBENCH_V1], ids=schema_tag)
def test_evaluation_schemas_are_documented_and_versioned(schema):
    docs = field_docs(schema)
    assert all(len(doc) > 10 for doc in docs.values()), [k for k, v in docs.items() if len(v) <= 10]
    assert schema_tag(schema) in ("eval_results/v1", "processbench/v1")


def test_every_result_row_has_a_method_and_a_verdict():
    required = {f.name for f in EVAL_RESULTS_V1 if not f.nullable}
    assert {"problem_id", "method", "correct", "gold_answer", "considered", "in_table"} <= required
    assert {"answer", "seconds", "support"} <= {f.name for f in EVAL_RESULTS_V1 if f.nullable}
