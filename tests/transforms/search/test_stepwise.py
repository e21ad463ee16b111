"""Shared step-level helpers: terminal test, expansion with dedup and verification, priors, exhaustion."""

import math

import pytest

from tests.fakes import ExactVerifier
from transforms.protocols import Generation, Sample
from transforms.search.base import SearchEnv, build_config
from transforms.search.stepwise import add_steps, backup, is_exhausted, set_priors, step_node, step_request
from transforms.search.mcts_alphamath import AlphaMathConfig
from transforms.search.tree import Tree


def _env():
    return SearchEnv(chat_prompt=lambda q: f"Q: {q}\n", verifier=ExactVerifier(), seed=1)


def _sample(text, finish="stop", logprob=-1.0):
    return Sample(text=text, num_tokens=max(len(text.split()), 1), finish_reason=finish, cumulative_logprob=logprob)


def test_add_steps_dedups_marks_terminals_and_verifies_them():
    tree, env = Tree("p", "q", "5"), _env()
    generation = Generation((_sample(" go on \n"), _sample("go on"), _sample("#### answer: 5"), _sample("tail", "eos"),
                             _sample("", "stop"), _sample("cut", "length")), prompt_tokens=7)
    children = add_steps(tree, tree.root, generation, env, max_depth=3)
    assert [c.step_text for c in children] == ["go on", "#### answer: 5", "tail", "", "cut"]  # duplicate dropped
    assert [c.is_terminal for c in children] == [False, True, True, True, True]  # answer, eos, empty, cut end it
    assert children[1].verdict.equal is True
    # Issue 9, item 1: no answer stated -> verdict None with the reason, never a verifier call.
    assert [(c.verdict.equal, c.verdict.method) for c in children[2:]] == [
        (None, "no_answer"), (None, "empty_step"), (None, "length")]
    assert tree.root.prompt_tokens == 7 and children[0].prompt_tokens == 7 and children[0].num_tokens == 2
    again = add_steps(tree, tree.root, Generation((_sample("go on"),), 7), env, max_depth=3)
    assert again == [] and len(tree.root.children) == 5  # an existing sibling is not duplicated


class _NoVerifier:
    name, version = "none", "1"

    def verify(self, prediction, gold):
        raise AssertionError(f"the verifier was called on {prediction!r}")


def test_depth_limit_as_in_the_reference_code():
    # Super_MARIO and rStar create_child: a new node with depth > max_depth that is not already terminal
    # gets TOO_MANY_STEPS (negative reward, never verified). With max_depth = 2: a step at depth 2 goes on,
    # a step at depth 3 that states no answer ends (too_many_steps), one that states an answer is verified.
    tree = Tree("p", "q", "5")
    env = SearchEnv(chat_prompt=lambda q: q, verifier=_NoVerifier())
    a = add_steps(tree, tree.root, Generation((_sample("a"),), 3), env, max_depth=2)[0]
    [b] = add_steps(tree, a, Generation((_sample("b 18"),), 3), env, max_depth=2)
    assert b.depth == 2 and not b.is_terminal and b.verdict is None
    [c] = add_steps(tree, b, Generation((_sample("so 18"),), 3), env, max_depth=2)
    assert c.depth == 3 and c.is_terminal and (c.verdict.equal, c.verdict.method) == (None, "too_many_steps")
    env.verifier = ExactVerifier()
    [d] = add_steps(tree, b, Generation((_sample("answer: 5"),), 3), env, max_depth=2)
    assert d.depth == 3 and d.verdict.equal is True


def test_detached_steps_know_their_parent_but_stay_out_of_the_tree():
    tree, env = Tree("p", "q", "5"), _env()
    a = tree.root.add_child("a")
    sim = step_node(tree, a, _sample("#### answer: 5"), 3, env, max_depth=8, attach=False)
    assert sim.steps() == ("a", "#### answer: 5") and sim.verdict.equal is True and a.children == []
    assert sim.path == (0, -1)


def test_step_requests_stop_at_the_separator_with_per_node_seeds():
    tree, env = Tree("p", "q", "5"), _env()
    a = tree.root.add_child("a")
    config = build_config(AlphaMathConfig, {"max_tokens": "9", "temperature": "0.5"})
    request = step_request(tree, a, config, env, n=4)
    assert request.prompt == "Q: q\na\n\n" and request.sampling.stop == ("\n\n",)
    assert (request.sampling.n, request.sampling.max_tokens, request.sampling.temperature) == (4, 9, 0.5)
    assert request.sampling.seed == env.seed_for(tree, a) != step_request(tree, a, config, env, n=4, salt=1).sampling.seed


def test_priors_by_hand():
    tree = Tree("p", "q", "5")
    # mean token logprobs: -1/1 = -1 and -3/3 = -1 -> equal; whole-step logprobs -1 and -3 differ.
    x = tree.root.add_child("x", num_tokens=1, prior_logprob=-1.0)
    y = tree.root.add_child("y y y", num_tokens=3, prior_logprob=-3.0)
    set_priors([x, y], "softmax")
    assert x.prior == y.prior == 0.5
    set_priors([x, y], "softmax_total")  # e^-1 / (e^-1 + e^-3) = 1 / (1 + e^-2) = 0.880797
    assert x.prior == pytest.approx(0.880797, abs=1e-6) and y.prior == pytest.approx(0.119203, abs=1e-6)
    set_priors([x, y], "exp_mean")
    assert x.prior == y.prior == pytest.approx(math.exp(-1))
    set_priors([x, y], "uniform")
    assert x.prior == y.prior == 1.0


def test_backup_and_exhaustion():
    tree = Tree("p", "q", "5")
    a = tree.root.add_child("a")
    done = a.add_child("#### answer: 5", "answer", is_terminal=True)
    open_leaf = a.add_child("b")
    assert not is_exhausted(tree.root) and not is_exhausted(done)  # a terminal not yet evaluated
    backup(done, 1.0)
    assert [(n.visits, n.value_sum) for n in (tree.root, a, done)] == [(1, 1.0), (1, 1.0), (1, 1.0)]
    assert is_exhausted(done) and not is_exhausted(a)
    open_leaf.is_terminal, open_leaf.visits = True, 1
    assert is_exhausted(a) and is_exhausted(tree.root)
    assert is_exhausted(tree.root.add_child("c"), ended=lambda n: True)
