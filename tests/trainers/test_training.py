"""The four trainers on the tiny model: the loss falls on a small overfit set, the weights change,
validation metrics land in the model card, and the outputs load where the next round needs them
(the policy in vLLM; scorers in both scorer backends with the same scores)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from safetensors.torch import load_file

from tests.trainers.conftest import engine_weights, log_history
from transforms.protocols import ScoreRequest
from transforms.scorer import ScorerSpec, build_scorer

REQUESTS = [ScoreRequest("What is 2 + 3?", ("Adding the numbers: 2 + 3 = 5.",)),
            ScoreRequest("What is 2 + 3?", ("Adding the numbers: 2 + 3 = 6.", "The answer is \\boxed{6}.")),
            ScoreRequest("What is 4 * 2?", ("Four plus two is six.",))]


def _loss_fell(out, key="loss"):
    losses = [row[key] for row in log_history(out) if key in row]
    assert len(losses) >= 8
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses


def _changed(base_dir, out_dir, prefix="model.layers.0."):
    base, trained = load_file(f"{base_dir}/model.safetensors"), load_file(f"{out_dir}/model.safetensors")
    names = [n for n in trained if n.startswith(prefix) and n in base]
    assert names and all(not base[n].equal(trained[n]) for n in names if n.endswith("weight") and "norm" not in n)


def _card(out):
    return json.loads((out / "treemill_training.json").read_text()), (out / "README.md").read_text()


def _check_card(out, metrics, kind):
    facts, card = _card(out)
    assert facts["kind"] == kind and facts["run_ids"] == ["run-hand"] and len(facts["label_run_ids"]) == 1
    assert facts["validation"] and all(m in facts["validation"][-1] for m in metrics)
    assert all(len(digest) == 64 for _, digest in facts["files"])
    assert "base_model:" in card and "run-hand" in card and facts["files"][0][1] in card


def test_sft_fits_and_vllm_serves_the_result(sft_out, tiny_model_dir, tiny_policy):
    _loss_fell(sft_out)
    _changed(tiny_model_dir, sft_out)
    _check_card(sft_out, ["eval_loss"], "sft")
    assert (sft_out / "chat_template.jinja").exists() or "chat_template" in (sft_out / "tokenizer_config.json").read_text()
    from vllm import SamplingParams

    from transforms.policy.vllm_backend import chat_prompt

    with engine_weights(tiny_policy.llm, sft_out, tiny_policy.model_path) as llm:
        prompt = chat_prompt(llm.get_tokenizer(), "What is 4 * 2?")
        [out] = llm.generate([prompt], SamplingParams(temperature=0.0, max_tokens=48), use_tqdm=False)
    # The trained policy writes the one trace it was fitted on, then ends its turn.
    assert out.outputs[0].text == "Multiply four by two to get 8.\n\nThe answer is \\boxed{8}."
    assert out.outputs[0].finish_reason == "stop"


@pytest.mark.parametrize("kind, metrics, activation, template", [
    ("ppm", ["eval_pairwise_accuracy", "eval_loss"], "none", "plain"),
    ("prm", ["eval_step_auc", "eval_step_accuracy"], "sigmoid", "plain"),
    ("value", ["eval_value_mse", "eval_value_sign_accuracy", "eval_lm_loss"], "tanh", "prompt"),
])
def test_scorers_fit_and_score_the_same_in_both_backends(kind, metrics, activation, template, request,
                                                         tiny_model_dir, pooling_engine, ppm_out):
    out = request.getfixturevalue(f"{kind}_out")
    _loss_fell(out)
    _changed(tiny_model_dir, out)
    _check_card(out, metrics, kind)
    hf = build_scorer(ScorerSpec(str(out)))  # no activation or template given: the folder says
    assert (hf.spec.activation, hf.spec.template) == (activation, template)
    scores = hf.score(REQUESTS)
    assert len(set(round(s, 3) for s in scores)) == 3
    if activation == "sigmoid":
        assert all(0 <= s <= 1 for s in scores)
    if activation == "tanh":
        assert all(-1 <= s <= 1 for s in scores)
    with engine_weights(pooling_engine.llm, out, ppm_out):
        vllm_scorer = pooling_engine
        spec, vllm_scorer.spec = vllm_scorer.spec, replace(hf.spec, backend="vllm")
        try:
            assert vllm_scorer.score(REQUESTS) == pytest.approx(scores, rel=0.02, abs=0.02)
        finally:
            vllm_scorer.spec = spec


def test_value_output_holds_a_plain_policy(value_out, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    policy = AutoModelForCausalLM.from_pretrained(value_out / "policy")
    assert not hasattr(policy, "v_head")
    assert "score.weight" in load_file(f"{value_out}/model.safetensors")
    _changed(tiny_model_dir, value_out / "policy")
    config = json.loads((value_out / "config.json").read_text())
    assert config["architectures"] == ["LlamaForSequenceClassification"] and config["num_labels"] == 1 \
        if "num_labels" in config else config["architectures"] == ["LlamaForSequenceClassification"]
    assert config["treemill_scorer"]["kind"] == "value"


def test_prm_aggregation_is_a_scorer_option(prm_out):
    last = build_scorer(ScorerSpec(str(prm_out), dtype="float32"))
    low = build_scorer(ScorerSpec(str(prm_out), dtype="float32", aggregation="min"))
    product = build_scorer(ScorerSpec(str(prm_out), dtype="float32", aggregation="product"))
    two_steps = [REQUESTS[1]]
    steps = last.score([ScoreRequest(REQUESTS[1].question, REQUESTS[1].steps[:1]), REQUESTS[1]])
    assert last.score(two_steps)[0] == pytest.approx(steps[1], abs=1e-5)
    assert low.score(two_steps)[0] == pytest.approx(min(steps), abs=1e-5)
    assert product.score(two_steps)[0] == pytest.approx(steps[0] * steps[1], abs=1e-5)
