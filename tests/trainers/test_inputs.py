"""Label rows -> trainer inputs, losses and metrics: pure functions checked on exact hand-made rows
and numbers worked by hand."""

import math

import pytest
import torch

from trainers.common.metrics import mse, roc_auc, sign_accuracy, threshold_accuracy
from trainers.common.steps import Trace, ancestor_paths, mark_prefixes, prefix_texts, traces
from trainers.common.data import split_problems
from trainers.ppm.inputs import pair_texts, pair_weight, ppm_example
from trainers.ppm.loss import pairwise_correct, ppm_loss
from trainers.prm.loss import prm_loss
from trainers.sft.inputs import keep_row, sft_example
from trainers.value.loss import alphamath_loss, policy_loss, value_loss
from transforms.protocols import ScoreRequest
from transforms.scorer.spec import aggregate, expand_steps

NAN = math.nan


def _step(path, text, terminal=False, verdict=None, label=None, q=None, problem="p1"):
    return {"label_run_id": "L", "problem_id": problem, "path": path, "step_text": text, "is_terminal": terminal,
            "verdict": verdict, "label": label, "q": q}


def test_split_is_by_problem_deterministic_and_never_empty():
    ids = [f"p{i}" for i in range(10)]
    train, val = split_problems(ids + ids, 0.2, seed=0)  # duplicates: rows of the same problem
    assert len(val) == 2 and len(train) == 8 and not train & val and train | val == set(ids)
    assert split_problems(list(reversed(ids)), 0.2, seed=0) == (train, val)  # order does not matter
    assert split_problems(ids, 0.2, seed=2)[1] != val  # the seed picks other problems
    assert split_problems(["a", "b"], 0.01, seed=0)[1] != set()  # at least one held out
    assert split_problems(["a"], 0.5, seed=0) == ({"a"}, set())  # a single problem always trains
    assert split_problems(ids, 0.0, seed=0) == (set(ids), set())


def test_sft_example_is_prompt_completion_conversation():
    row = {"problem_id": "p1", "question": "What is 2 + 3?", "solution": "2 + 3 = 5.\n\n\\boxed{5}", "rank": 2}
    assert sft_example(row) == {
        "problem_id": "p1", "prompt": [{"role": "user", "content": "What is 2 + 3?"}],
        "completion": [{"role": "assistant", "content": "2 + 3 = 5.\n\n\\boxed{5}"}]}
    assert sft_example(row, "Be brief.")["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert keep_row(row, 0) and keep_row(row, 2) and not keep_row(row, 1)


PPM_ROW = {"problem_id": "p1", "kind": "ppm", "question": "What is 2 + 3?", "prefix": ["Add them."],
           "chosen": "2 + 3 = 5.", "rejected": "2 + 3 = 6.", "pos_count": 2, "neg_count": 2}


def test_ppm_pair_texts_and_rstar_weights():
    # The scorer's plain text: question, blank line, prefix steps and the step, blank-line separated.
    assert pair_texts(PPM_ROW) == ("What is 2 + 3?\n\nAdd them.\n\n2 + 3 = 5.", "What is 2 + 3?\n\nAdd them.\n\n2 + 3 = 6.")
    assert pair_weight(PPM_ROW) == 0.25  # 1 / (2 x 2), rStar-Math Eq. 4
    assert pair_weight({**PPM_ROW, "pos_count": 1, "neg_count": 4}) == 0.25
    assert pair_weight({**PPM_ROW, "pos_count": 1, "neg_count": 1}) == 1.0
    assert pair_weight(PPM_ROW, "none") == 1.0
    assert pair_weight({**PPM_ROW, "kind": "sibling", "pos_count": None, "neg_count": None}) == 1.0
    first_step = {**PPM_ROW, "prefix": []}
    assert ppm_example(first_step) == {"problem_id": "p1", "chosen": "What is 2 + 3?\n\n2 + 3 = 5.",
                                       "rejected": "What is 2 + 3?\n\n2 + 3 = 6.", "weight": 0.25}


def test_ppm_loss_by_hand():
    # -log sigma(1) = 0.313262, -log sigma(0) = 0.693147; weights 0.25 and 1:
    # (0.25 * 0.313262 + 1 * 0.693147) / 1.25 = 0.617170
    chosen, rejected = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0])
    assert ppm_loss(chosen, rejected, torch.tensor([0.25, 1.0])).item() == pytest.approx(0.617170, abs=1e-6)
    # equal weights: TRL's RewardTrainer loss, the plain mean (0.313262 + 0.693147) / 2
    assert ppm_loss(chosen, rejected, torch.tensor([1.0, 1.0])).item() == pytest.approx(0.503204, abs=1e-6)
    assert pairwise_correct(torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 0.0, 3.0])) == 1  # a tie is wrong


def test_traces_follow_paths_and_count_missing_steps():
    rows = [_step("0", "A", label=0.5, q=0.0), _step("0.0", "A0", True, True, 1.0, 1.0),
            _step("0.1", "A1", True, False, 0.0, -1.0), _step("1", "B", label=None, q=None),
            _step("1.0", "B0", True, None, None, None),
            _step("2.0", "orphan", True, False, 0.0, -1.0),  # its step "2" is missing
            _step("0", "C", True, True, 1.0, 1.0, problem="p9")]  # no question for p9
    found, missing = traces(rows, {"p1": "Q?"}, "label")
    assert found == [Trace("p1", "Q?", "0.0", ("A", "A0"), (0.5, 1.0), True),
                     Trace("p1", "Q?", "0.1", ("A", "A1"), (0.5, 0.0), False),
                     Trace("p1", "Q?", "1.0", ("B", "B0"), (None, None), None)]
    assert missing == 2
    assert traces(rows[:3], {"p1": "Q?"}, "q")[0][1].targets == (0.0, -1.0)
    assert ancestor_paths("0.2.1") == ["0", "0.2", "0.2.1"]
    assert prefix_texts(found[0], "plain") == ["Q?\n\nA", "Q?\n\nA\n\nA0"]


def test_mark_prefixes_puts_each_target_on_the_last_token_of_its_prefix():
    def chars(text):  # one token per character: every prefix is a token prefix
        return [ord(c) for c in text]

    marked, dropped = mark_prefixes(chars, ["ab", "ab c"], [0.5, None], max_length=10)
    assert len(marked) == 1 and marked[0].input_ids == tuple(chars("ab c"))
    assert marked[0].positions == [1] and marked[0].targets[1] == 0.5  # NaN (unlabelled) elsewhere
    assert dropped == 0
    marked, _ = mark_prefixes(chars, ["ab", "abcd"], [0.0, 1.0], max_length=10)
    assert marked[0].positions == [1, 3] and [marked[0].targets[i] for i in (1, 3)] == [0.0, 1.0]

    def merging(text):  # merges "b" + "c" into one token: "ab" is not a token prefix of "abc"
        return [1 if part == "bc" else ord(part) for part in _pieces(text)]

    marked, _ = mark_prefixes(merging, ["ab", "abc", "abcd"], [0.1, 0.2, 0.3], max_length=10)
    assert [m.input_ids for m in marked] == [(97, 98), (97, 1, 100)]  # the chain is cut, nothing is mislabelled
    assert [m.positions for m in marked] == [[1], [1, 2]]
    assert [[m.targets[i] for i in m.positions] for m in marked] == [[0.1], [0.2, 0.3]]
    marked, dropped = mark_prefixes(chars, ["ab", "abcd", "abcdef"], [0.0, 1.0, 1.0], max_length=4)
    assert marked[0].positions == [1, 3] and dropped == 1  # the 6-token prefix is over max_length


def _pieces(text):
    out, i = [], 0
    while i < len(text):
        if text[i:i + 2] == "bc":
            out.append("bc")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return out


def test_prm_and_value_losses_by_hand():
    logits = torch.tensor([[0.0, 2.0, 0.0]])
    targets = torch.tensor([[NAN, 0.5, 1.0]])
    # bce: [-(0.5 log s(2) + 0.5 log(1 - s(2))) + (-log s(0))] / 2 = (1.126928 + 0.693147) / 2
    assert prm_loss(logits, targets, "bce").item() == pytest.approx(0.910038, abs=1e-6)
    # mse: [(0.880797 - 0.5)^2 + (0.5 - 1)^2] / 2 = (0.145006 + 0.25) / 2
    assert prm_loss(logits, targets, "mse").item() == pytest.approx(0.197503, abs=1e-6)
    # value: tanh(2) = 0.964028, tanh(0) = 0 vs Q 0.5 and 1: [(0.464028)^2 + 1] / 2
    assert value_loss(logits, targets).item() == pytest.approx(0.607661, abs=1e-6)
    lm_logits = torch.zeros(1, 3, 4)  # uniform over 4 tokens: -log(1/4) per labelled token
    assert policy_loss(lm_logits, torch.tensor([[-100, -100, -100]])).item() == 0.0  # an incorrect trace
    assert policy_loss(lm_logits, torch.tensor([[-100, 2, 3]])).item() == pytest.approx(math.log(4), abs=1e-6)
    total, parts = alphamath_loss(lm_logits, torch.tensor([[-100, 2, 3]]), logits, targets, beta=0.5)
    assert total.item() == pytest.approx(math.log(4) + 0.5 * 0.607661, abs=1e-5)
    assert parts["lm_loss"] == pytest.approx(math.log(4), abs=1e-6)


def test_metrics_by_hand():
    # positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4) 1, (0.9>0.1) 1, (0.4=0.4) 0.5, (0.4>0.1) 1 -> 3.5/4
    assert roc_auc([0.9, 0.4, 0.4, 0.1], [True, True, False, False]) == 0.875
    assert roc_auc([0.1, 0.2], [True, True]) is None
    assert threshold_accuracy([0.9, 0.4, 0.6], [1.0, 0.67, 0.0]) == pytest.approx(1 / 3)
    assert sign_accuracy([0.2, -0.1, 0.5], [1.0, 0.5, 0.0]) == 0.5  # the target 0 is left out
    assert mse([1.0, 0.0], [0.0, 0.0]) == 0.5


def test_scorer_aggregation_over_step_prefixes():
    requests = [ScoreRequest("Q", ("a", "b", "c")), ScoreRequest("Q", ())]
    flat, counts = expand_steps(requests, "min")
    assert flat == [ScoreRequest("Q", ("a",)), ScoreRequest("Q", ("a", "b")), ScoreRequest("Q", ("a", "b", "c")),
                    ScoreRequest("Q", ())] and counts == [3, 1]
    assert aggregate([0.9, 0.5, 0.8, 0.7], counts, "min") == [0.5, 0.7]
    assert aggregate([0.9, 0.5, 0.8, 0.7], counts, "product") == [pytest.approx(0.36), 0.7]
    assert aggregate([0.8, 0.7], [1, 1], "last") == [0.8, 0.7]
    assert expand_steps(requests, "last") == (requests, [1, 1])
