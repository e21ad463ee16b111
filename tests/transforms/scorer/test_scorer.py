"""Scorer backends on a tiny local classifier: spec checks, score formulas, transformers vs vLLM."""

import os

import pytest

from transforms.protocols import ScoreRequest
from transforms.scorer import ScorerSpec, build_scorer, score_text, shared_scorer, to_score

REQUESTS = [ScoreRequest("What is 2+3?", ("2 + 3 = 5.", "The answer is \\boxed{5}.")),
            ScoreRequest("What is 2+3?", ("Guess 7.",)),
            ScoreRequest("Total apples?", ())]


@pytest.fixture(scope="session")
def tiny_scorer_dir(tmp_path_factory) -> str:
    from transforms.scorer.tiny import build_tiny_scorer

    return str(build_tiny_scorer(tmp_path_factory.mktemp("tiny-scorer")))


def test_to_score_by_hand():
    assert to_score([2.0]) == 2.0  # one label, auto: the raw head output
    assert to_score([2.0], "sigmoid") == pytest.approx(0.880797, abs=1e-6)  # 1 / (1 + e^-2)
    assert to_score([0.5], "tanh") == pytest.approx(0.462117, abs=1e-6)
    assert to_score([1.0, 3.0]) == pytest.approx(0.880797, abs=1e-6)  # softmax, last label: e^3 / (e + e^3)
    assert to_score([1.0, 3.0], "softmax", label=0) == pytest.approx(0.119203, abs=1e-6)
    assert to_score([1.0, 3.0], "none", label=0) == 1.0
    with pytest.raises(ValueError, match="no logits"):
        to_score([])


def test_spec_validation_and_text():
    for bad, message in [({"backend": "tgi"}, "unknown scorer backend"), ({"activation": "relu"}, "activation"),
                         ({"template": "x"}, "template"), ({"batch_size": 0}, "batch_size"), ({"model": ""}, "needs a model")]:
        with pytest.raises(ValueError, match=message):
            ScorerSpec(**{"model": "m", **bad})
    assert ScorerSpec("m").key() == ScorerSpec("m").key() != ScorerSpec("m", activation="sigmoid").key()
    assert score_text(REQUESTS[0], "plain") == "What is 2+3?\n\n2 + 3 = 5.\n\nThe answer is \\boxed{5}."
    assert score_text(REQUESTS[2], "plain") == "Total apples?"


def test_transformers_scorer_is_batched_deterministic_and_order_preserving(tiny_scorer_dir):
    # float32 here so that only padding could make a difference (bf16 rounding differs with batch shape)
    one_by_one = build_scorer(ScorerSpec(tiny_scorer_dir, batch_size=1, dtype="float32"))
    batched = build_scorer(ScorerSpec(tiny_scorer_dir, batch_size=16, dtype="float32"))
    singles = one_by_one.score(REQUESTS)
    assert batched.score(REQUESTS) == pytest.approx(singles, abs=1e-3)  # padding does not change a score
    assert batched.score(REQUESTS[::-1]) == pytest.approx(singles[::-1], abs=1e-3)
    assert len(set(round(s, 2) for s in singles)) == 3  # different texts, different scores
    chat = build_scorer(ScorerSpec(tiny_scorer_dir, template="chat", dtype="float32")).score(REQUESTS[:1])
    assert chat[0] != pytest.approx(singles[0], abs=1e-3)
    assert shared_scorer(ScorerSpec(tiny_scorer_dir)) is shared_scorer(ScorerSpec(tiny_scorer_dir))


@pytest.fixture(scope="session")
def tiny_vllm_scorer(tiny_scorer_dir, tiny_policy):
    """A second in-process engine, kept for the session: destroying an in-process vLLM engine tears
    down vLLM's process-wide parallel state, which would break the shared policy engine too.
    (In `generate` the policy and a vLLM scorer likewise live as long as the worker.)"""
    return shared_scorer(ScorerSpec(tiny_scorer_dir, backend="vllm", max_model_len=512, kv_cache_gb=0.25))


def test_vllm_pooling_scorer_matches_transformers(tiny_scorer_dir, tiny_vllm_scorer, tiny_policy):
    # tiny_policy: skips (or fails under CI) like every engine test when vLLM is missing.
    vllm_scorer = tiny_vllm_scorer
    hf_scorer = build_scorer(ScorerSpec(tiny_scorer_dir))
    assert vllm_scorer.score(REQUESTS) == pytest.approx(hf_scorer.score(REQUESTS), rel=0.05, abs=0.2)
    assert vllm_scorer.score([]) == []
    sig = build_scorer(ScorerSpec(tiny_scorer_dir, activation="sigmoid")).score(REQUESTS[:1])[0]
    assert 0.0 <= sig <= 1.0
    assert os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING") == "0"  # both engines live in this process


def test_a_trainer_folder_declares_activation_and_template(tmp_path):
    import json

    (tmp_path / "config.json").write_text(json.dumps(
        {"treemill_scorer": {"kind": "prm", "activation": "sigmoid", "template": "prompt"}}))
    spec = ScorerSpec(str(tmp_path)).for_folder(str(tmp_path))
    assert (spec.activation, spec.template) == ("sigmoid", "prompt")
    kept = ScorerSpec(str(tmp_path), activation="none", template="chat").for_folder(str(tmp_path))
    assert (kept.activation, kept.template) == ("none", "chat")  # what the user gives wins
    plain = ScorerSpec("m").for_folder(str(tmp_path / "elsewhere"))
    assert (plain.activation, plain.template) == ("auto", "plain")  # a folder without a declaration
    with pytest.raises(ValueError, match="aggregation"):
        ScorerSpec("m", aggregation="mean")


def test_prompt_template_is_the_policy_context():
    class ChatML:
        chat_template = "chatml"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            assert not tokenize and add_generation_prompt
            return "".join(f"<u>{m['content']}</u>" for m in messages) + "<a>"

    assert score_text(REQUESTS[0], "prompt", ChatML()) == "<u>What is 2+3?</u><a>2 + 3 = 5.\n\nThe answer is \\boxed{5}."
    with pytest.raises(ValueError, match="chat template"):
        score_text(REQUESTS[0], "prompt", None)
