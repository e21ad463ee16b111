import pytest

from tests.fakes import ExactVerifier, ScriptedPolicy
from transforms.search import get_search
from transforms.search.base import SearchEnv, build_config, classify_step
from transforms.search.scheduler import Scheduler
from transforms.search.tree import Tree


def _env_factory(policy):
    return lambda: SearchEnv(chat_prompt=lambda q: policy.chat_prompt(q, "sys"), verifier=ExactVerifier(), seed=7)


def _respond(prompt, index, seed):
    # Problem "a" (gold 5): even samples right; problem "b" (gold 9): always wrong.
    if "<q>a</q>" in prompt:
        return f"think {index}\n\nanswer: {5 if index % 2 == 0 else 4}"
    return "one step\n\nanother\n\nanswer: 1"


def test_best_of_n_batches_all_problems_into_one_call_and_builds_chains():
    policy = ScriptedPolicy(_respond)
    algorithm = get_search("best-of-n")
    config = algorithm.make_config({"n": "4", "max_tokens": "64"})
    trees = [Tree("a", "a", "5"), Tree("b", "b", "9")]
    scheduler = Scheduler(policy)
    outcomes = scheduler.run(trees, algorithm.search, config, _env_factory(policy))

    assert len(policy.calls) == 1 and len(policy.calls[0]) == 2  # one engine call for both problems
    assert [r.sampling.n for r in policy.calls[0]] == [4, 4]
    assert policy.calls[0][0].sampling.seed != policy.calls[0][1].sampling.seed
    a, b = (o.tree for o in outcomes)
    assert [len(leaf.steps()) for leaf in a.root.leaves()] == [2, 2, 2, 2]
    assert [leaf.verdict.equal for leaf in a.root.leaves()] == [True, False, True, False]
    assert [leaf.verdict.equal for leaf in b.root.leaves()] == [False] * 4
    assert all(leaf.is_terminal and leaf.step_kind == "text" for leaf in b.root.leaves())
    assert b.root.children[0].children[0].finish_reason == "split"
    assert b.root.leaves()[0].finish_reason == "eos"
    assert scheduler.stats.policy_calls == 1 and scheduler.stats.generated_tokens == sum(
        o.env.generated_tokens for o in outcomes)


def test_seeds_are_reproducible_and_configs_validated():
    seeds = []
    for _ in range(2):
        policy = ScriptedPolicy(_respond)
        Scheduler(policy).run([Tree("a", "a", "5")], get_search("greedy").search,
                              get_search("greedy").make_config(), _env_factory(policy))
        seeds.append(policy.calls[0][0].sampling.seed)
        assert policy.calls[0][0].sampling.temperature == 0.0
    assert seeds[0] == seeds[1]
    with pytest.raises(ValueError, match="n >= 1"):
        get_search("best-of-n").make_config({"n": "0"})
    with pytest.raises(ValueError, match="unknown BestOfNConfig option"):
        get_search("best-of-n").make_config({"beams": "2"})
    with pytest.raises(ValueError, match="cannot read"):
        build_config(get_search("best-of-n").config_cls, {"n": "four"})


def test_a_failing_tree_is_reported_and_the_others_finish():
    policy = ScriptedPolicy(_respond)

    def flaky(tree, config, env):
        if tree.problem_id == "b":
            raise RuntimeError("boom")
        yield from get_search("best-of-n").search(tree, config, env)

    outcomes = Scheduler(policy).run([Tree("a", "a", "5"), Tree("b", "b", "9")], flaky,
                                     get_search("best-of-n").make_config({"n": "2"}), _env_factory(policy))
    assert outcomes[0].error is None and len(outcomes[0].tree.root.leaves()) == 2
    assert outcomes[1].error == "RuntimeError: boom"


def test_classify_step():
    assert classify_step("```python\nprint(1)\n```") == "code"
    assert classify_step("So the answer is 4.") == "answer"
    assert classify_step("\\boxed{4}") == "answer"
    assert classify_step("Add the numbers.") == "text"
