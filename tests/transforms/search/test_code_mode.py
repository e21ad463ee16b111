"""Code-augmented steps in a step-level search: scripted policy, real sandbox."""

import pytest

from tests.fakes import ExactVerifier, ScriptedPolicy
from transforms.step_formats.code import RSTAR
from transforms.sandbox import SandboxExecutor, SandboxLimits
from transforms.search import get_search
from transforms.search.base import SearchEnv
from transforms.search.scheduler import Scheduler
from transforms.search.tree import Tree

STEP_1 = "# Each box holds 6 eggs; 7 boxes.\n```python\neggs = 6 * 7\nprint(eggs)\n```"
STEP_2_OK = "# Give away 2.\n```python\nprint(eggs - 2)\n```"
STEP_2_BAD = "# Divide by zero.\n```python\nprint(eggs / 0)\n```"
FINAL = "The answer is \\boxed{40}. answer: 40"


def _respond(prompt, index, seed):
    """Step 1 always; then one branch continues with working code, one with failing code; then the answer."""
    if "```output\n40\n```" in prompt:
        return FINAL
    if "```output\n42\n```" in prompt:
        return STEP_2_OK if index == 0 else STEP_2_BAD
    return STEP_1


@pytest.fixture(scope="module")
def sandbox():
    with SandboxExecutor(SandboxLimits(timeout_s=5, cpu_s=5), workers=1) as executor:
        yield executor


def test_code_steps_run_in_the_sandbox_and_feed_the_next_step(sandbox):
    policy = ScriptedPolicy(_respond, finish_reason="stop")
    algorithm = get_search("sbs")
    config = algorithm.make_config({"beam_width": "2", "n": "2", "max_depth": "4", "rank_by": "logprob"})
    env = lambda: SearchEnv(chat_prompt=lambda q: policy.chat_prompt(q, RSTAR.instructions),  # noqa: E731
                            verifier=ExactVerifier(), step_format=RSTAR, executor=sandbox)
    [outcome] = Scheduler(policy).run([Tree("eggs", "How many eggs?", "40")], algorithm.search, config, env)
    assert outcome.error is None
    tree = outcome.tree

    assert all(r.sampling.stop == RSTAR.stop for call in policy.calls for r in call)
    [first] = tree.root.children  # the duplicate first step was merged
    assert (first.step_kind, first.code, first.exec_status, first.exec_output) == ("code", "eggs = 6 * 7\nprint(eggs)", "ok", "42")
    by_status = {child.exec_status: child for child in first.children}
    assert set(by_status) == {"ok", "error"}
    ok, bad = by_status["ok"], by_status["error"]
    assert ok.exec_output == "40" and not ok.is_terminal  # cumulative code: `eggs` from step 1 exists
    assert bad.is_terminal and bad.verdict.equal is None and bad.verdict.method == "code_error"
    assert "ZeroDivisionError" in bad.exec_output
    [final] = ok.children
    assert final.step_kind == "answer" and final.is_terminal and final.verdict.equal is True
    # The policy saw each step's output before writing the next one.
    last_prompts = [r.prompt for r in policy.calls[-1]]
    assert any("```output\n42\n```" in p and "```output\n40\n```" in p for p in last_prompts)


def test_malformed_steps_end_their_branch(sandbox):
    policy = ScriptedPolicy(lambda prompt, i, seed: "```python\nprint(1)", finish_reason="length")
    algorithm = get_search("sbs")
    env = lambda: SearchEnv(chat_prompt=lambda q: q, verifier=ExactVerifier(), step_format=RSTAR, executor=sandbox)  # noqa: E731
    [outcome] = Scheduler(policy).run([Tree("p", "q", "1")], algorithm.search,
                                      algorithm.make_config({"n": "1", "rank_by": "logprob"}), env)
    [node] = outcome.tree.root.children
    assert node.is_terminal and node.exec_status == "malformed" and node.verdict.method == "malformed_step"
    assert "unclosed code block" in node.exec_output


def test_code_mode_needs_an_executor():
    with pytest.raises(ValueError, match="executor"):
        SearchEnv(chat_prompt=lambda q: q, verifier=ExactVerifier(), step_format=RSTAR)


BAD = "# Divide.\n```python\nx = 6 * 7\nprint(x / 0)\n```"
BAD_AGAIN = "# Divide again.\n```python\nprint(1 / 0)\n```"
FIX = "# Multiply instead.\n```python\nprint(6 * 7)\n```"
FINAL_42 = "The answer is \\boxed{42}. answer: 42"


def _repairing_policy(prompt, index, seed):
    """First a failing step; after one error, a second failing step (sample 0) or a repair (sample 1)."""
    if "```output\n42\n```" in prompt:
        return FINAL_42
    errors = prompt.count("ZeroDivisionError")
    if errors == 0:
        return BAD
    return BAD_AGAIN if index == 0 else FIX


class _RecordingScorer:
    model_id = "recording"

    def __init__(self):
        self.calls = []

    def score(self, requests):
        self.calls.append([r.steps for r in requests])
        return [0.0 for _ in requests]


def _run_rstar(sandbox, params, scorer=None):
    policy = ScriptedPolicy(_repairing_policy, finish_reason="stop")
    algorithm = get_search("mcts-rstar")
    env = lambda: SearchEnv(chat_prompt=lambda q: q + "\n", verifier=ExactVerifier(), step_format=RSTAR,  # noqa: E731
                            executor=sandbox, has_scorer=scorer is not None)
    [outcome] = Scheduler(policy, scorer=scorer).run([Tree("p", "q", "42")], algorithm.search,
                                                     algorithm.make_config(params), env)
    assert outcome.error is None
    return outcome.tree


def test_code_errors_are_tolerated_up_to_the_allowance_then_end_the_branch(sandbox):
    # Issue 9, item 5; rStar sample_mcts.yaml: errors_threshold 2 with ">=" -> one failed code step in a row
    # is tolerated (the policy sees the error), the second ends the branch (TOO_MANY_CODE_ERRORS), which
    # gets a node-only update (released eval_final_answer: node.update(-1)).
    # rollout 1: root -> BAD (error 1 of 1 allowed: goes on) -> expand: BAD_AGAIN (2 in a row: code_error,
    # N1 q-1, nothing above it), FIX (ok: its program leaves out BAD's failing code, prints 42) -> FIX ->
    # FINAL_42, verified correct: +1 on FINAL_42, FIX, BAD, root.
    tree = _run_rstar(sandbox, {"rollouts": "1", "n": "2", "code_errors_allowed": "1"})
    [bad] = tree.root.children
    again, fix = bad.children
    assert (bad.exec_status, bad.is_terminal, bad.verdict) == ("error", False, None)
    assert "ZeroDivisionError" in bad.exec_output
    assert again.is_terminal and (again.verdict.equal, again.verdict.method) == (None, "code_error")
    assert again.exec_status == "error" and (again.visits, again.value_sum) == (1, -1.0)
    assert (fix.exec_status, fix.exec_output) == ("ok", "42")
    [final] = fix.children
    assert final.verdict.equal is True
    assert [(n.visits, n.value_sum) for n in (tree.root, bad, fix, final)] == [(1, 1.0)] * 4
    # No allowance (rStar's sft_sample_mcts.yaml, errors_threshold 1): the first failure ends its branch, and
    # with nothing else to try the search stops without a rollout.
    tree = _run_rstar(sandbox, {"rollouts": "1", "n": "2", "code_errors_allowed": "0"})
    [bad] = tree.root.children
    assert bad.verdict.method == "code_error" and (bad.visits, bad.value_sum) == (1, -1.0)
    assert tree.root.visits == 0 and not bad.children


def test_the_scorer_sees_the_execution_outputs_the_policy_saw(sandbox):
    # Issue 9, item 11: in code mode a scored partial solution carries each step's output block.
    scorer = _RecordingScorer()
    _run_rstar(sandbox, {"rollouts": "1", "n": "1", "ppm": "true"}, scorer=scorer)
    [steps] = scorer.calls[0]  # the root's one new child, BAD
    assert len(steps) == 1 and steps[0].startswith(BAD) and "```output\n" in steps[0]
    assert "ZeroDivisionError" in steps[0]


def test_best_of_n_in_code_mode_grows_independent_executed_chains(sandbox):
    """Code mode: N chains, each step run before the next is asked for; no sibling is merged."""
    policy = ScriptedPolicy(_respond, finish_reason="stop")
    algorithm = get_search("best-of-n")
    env = lambda: SearchEnv(chat_prompt=lambda q: q, verifier=ExactVerifier(), step_format=RSTAR, executor=sandbox)  # noqa: E731
    [outcome] = Scheduler(policy).run([Tree("eggs", "How many eggs?", "40")], algorithm.search,
                                      algorithm.make_config({"n": "3", "max_depth": "4"}), env)
    tree = outcome.tree
    assert outcome.error is None and len(tree.root.children) == 3  # the same first step, kept 3 times
    assert [len(call) for call in policy.calls] == [1, 3, 3]  # root (n=3), then each live chain with n=1
    assert all(r.sampling.n == 1 for call in policy.calls[1:] for r in call)
    ends = []
    for first in tree.root.children:
        assert first.exec_status == "ok" and first.exec_output == "42"
        [second] = first.children  # index 0 of its own n=1 request: the working code step
        [final] = second.children
        ends.append((second.exec_output, final.step_kind, final.verdict.equal))
    assert ends == [("40", "answer", True)] * 3
    greedy = get_search("greedy")
    [outcome] = Scheduler(policy).run([Tree("eggs", "How many eggs?", "40")], greedy.search,
                                      greedy.make_config({"max_depth": "4"}), env)
    assert len(outcome.tree.root.children) == 1 and outcome.tree.root.children[0].children[0].children[0].verdict.equal
