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
    assert all(leaf.is_terminal and leaf.step_kind == "answer" for leaf in b.root.leaves())  # "answer: 1" states one
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


@pytest.mark.parametrize("text, kind", [
    # Markers anchored and followed by an answer (issue 9, item 12): headings and phrases are not answers.
    ("#### Step 2: add the eggs", "text"),
    ("## Step 1\n#### Step 2", "text"),
    ("So the answer is not obvious yet.", "text"),
    ("The answer is", "text"),  # the value may open the next step; this step states nothing yet
    ("\\boxed{", "text"),  # an unclosed box (a step cut by max_tokens) is no answer
    ("\\boxed{}", "text"),
    ("#### 42", "answer"),  # GSM8K reference format
    ("  #### -3.5", "answer"),
    ("The answer is $\\frac{1}{2}$.", "answer"),
    ("Final Answer: $21$", "answer"),  # AlphaMath's format
    ("**Answer:** 12", "answer"),
    ("so the answer is (B).", "answer"),
    ("We get \\boxed{x=2}.", "answer"),
    ("Step 3 #### 12", "text"),  # #### only at the start of a line
])
def test_answer_markers_are_anchored_and_need_an_answer(text, kind):
    assert classify_step(text) == kind


class CountingVerifier(ExactVerifier):
    def __init__(self):
        self.seen = []

    def verify(self, prediction, gold):
        self.seen.append(prediction)
        return super().verify(prediction, gold)


def test_samples_without_a_stated_answer_end_unverified():
    # Issue 9, item 1: a sample cut by max_tokens, an empty one, or one that ends (EOS) without stating an
    # answer gets verdict None with the reason, and the verifier (whose fallback would read the last number
    # "18" and call it correct) is never called on it.
    texts = {0: "She has 18 eggs\n\nso 18", 1: "", 2: "answer: 18"}
    for finish, method in (("length", "length"), ("eos", "no_answer")):
        policy = ScriptedPolicy(lambda prompt, i, seed: texts[i], finish_reason=finish)
        verifier = CountingVerifier()
        [outcome] = Scheduler(policy).run(
            [Tree("a", "a", "18")], get_search("best-of-n").search, get_search("best-of-n").make_config({"n": "3"}),
            lambda: SearchEnv(chat_prompt=lambda q: q, verifier=verifier))
        cut, empty, answered = outcome.tree.root.leaves()
        assert (cut.verdict.equal, cut.verdict.method, cut.is_terminal) == (None, method, True)
        assert (empty.verdict.equal, empty.verdict.method) == (None, "empty_step")
        assert answered.verdict.equal is True
        assert verifier.seen == ["answer: 18"]
