"""Code-augmented steps in a step-level search: scripted policy, real sandbox."""

import pytest

from tests.fakes import ExactVerifier, ScriptedPolicy
from transforms.code_steps import RSTAR
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
