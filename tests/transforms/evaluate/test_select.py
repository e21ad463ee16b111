"""Method names, search planning and answer selection on a hand-built best-of-5 tree."""

import pytest

from transforms.evaluate.methods import curve_ks, parse_method, parse_methods, plan_searches
from transforms.evaluate.select import nodes_to_score, select, solution_score, tokens_used
from transforms.protocols import Verdict
from transforms.search.tree import Tree


def _sample(tree, steps, answer, equal, tokens=10):
    """One sampled solution: a chain of steps under the root, the last one terminal with a verdict."""
    node = tree.root
    for i, text in enumerate(steps):
        last = i == len(steps) - 1
        node = node.add_child(text, "answer" if last else "text", num_tokens=tokens, is_terminal=last)
    node.verdict = Verdict(equal, "numeric" if answer else "no_answer", answer)
    return node


def best_of_5() -> Tree:
    r"""gold 5. Samples in order (answer, right?, PRM step scores):
    s0 "7" wrong  [0.1, 0.95]   min 0.1  last 0.95 prod 0.095
    s1 "5" right  [0.6]
    s2 "7" wrong  [0.5]
    s3 no answer  [0.99]        (not a solution: never votes, never selected)
    s4 "5" right  [0.8]
    """
    tree = Tree("p", "What is 2 + 3?", "5")
    _sample(tree, ["think", "so 7"], "7", False)
    _sample(tree, ["so 5"], "5", True)
    _sample(tree, ["so 7!"], "7", False)
    _sample(tree, ["hmm"], None, None)
    _sample(tree, ["it is 5"], "5", True)
    return tree


PRM = {(0,): 0.1, (0, 0): 0.95, (1,): 0.6, (2,): 0.5, (3,): 0.99, (4,): 0.8}
ORM = {(0, 0): 0.3, (1,): 0.2, (2,): 0.1, (4,): 0.25}


def _pick(name, prm=PRM, orm=ORM):
    choice = select(best_of_5(), parse_method(name), prm, orm)
    return choice.answer, choice.correct, choice.considered, choice.support


def test_vote_and_oracle_selections_by_hand():
    assert _pick("greedy") == ("7", False, 1, 1.0)            # the first solution
    assert _pick("maj@3") == ("7", False, 3, 2.0)             # 7, 5, 7
    assert _pick("maj@4") == ("7", False, 4, 2.0)             # 7, 5, 7, 5 (s3 has no answer): tie -> first seen
    assert _pick("pass@1")[:2] == ("7", False)
    assert _pick("pass@2")[:3] == ("5", True, 2)


def test_scorer_selections_by_hand():
    assert _pick("prm-min@4")[:2] == ("5", True)    # mins 0.1, 0.6, 0.5, 0.8 -> s4
    assert _pick("prm-last@4")[:2] == ("7", False)  # lasts 0.95, 0.6, 0.5, 0.8 -> s0
    answer, correct, _, support = _pick("prm-prod@4")
    assert (answer, correct) == ("5", True) and support == pytest.approx(0.8)  # 0.095, 0.6, 0.5, 0.8
    assert _pick("prm-min@2")[:2] == ("5", True)    # 0.1 vs 0.6
    assert _pick("orm@2")[:2] == ("7", False)       # 0.3 vs 0.2
    assert _pick("orm@4")[:2] == ("7", False)       # 0.3 is still the best
    answer, correct, considered, support = _pick("vote-prm-min@4")  # 7: 0.1 + 0.5 = 0.6; 5: 0.6 + 0.8 = 1.4
    assert (answer, correct, considered) == ("5", True, 4) and support == pytest.approx(1.4)
    answer, _, _, support = _pick("vote-orm@4")     # 7: 0.3 + 0.1 = 0.4; 5: 0.2 + 0.25 = 0.45
    assert answer == "5" and support == pytest.approx(0.45)


def test_product_and_weighted_vote_refuse_raw_logits():
    logits = {**PRM, (1,): -2.0}
    with pytest.raises(ValueError, match="activation=sigmoid"):
        _pick("prm-prod@4", prm=logits)
    with pytest.raises(ValueError, match=">= 0"):
        _pick("vote-prm-min@4", prm=logits)
    assert _pick("prm-min@4", prm=logits)[:2] == ("5", True)  # min works on any scale


def test_nodes_to_score_and_tokens():
    tree = best_of_5()
    steps, leaves = nodes_to_score(tree, parse_methods("prm-min@2,orm@4,maj@4"))
    assert [n.path for n in steps] == [(0,), (0, 0), (1,)]  # every step of the first 2 solutions
    assert [n.path for n in leaves] == [(0, 0), (1,), (2,), (4,)]
    assert solution_score(tree.root.children[0].children[0], "prm-prod", PRM, ORM) == pytest.approx(0.095)
    # tokens: each step 10; maj@2 reads samples s0 (20) and s1 (10); maj@4 reads up to s4: all 60
    assert tokens_used(tree, parse_method("maj@2")) == 30
    assert tokens_used(tree, parse_method("maj@4")) == 60
    assert tokens_used(tree, parse_method("greedy"), total=12) == 12


def test_beam_and_best_q_selections():
    tree = Tree("p", "q", "5")
    a = _sample(tree, ["a"], "5", True)
    b = _sample(tree, ["b"], "6", False)
    c = _sample(tree, ["c"], "7", False)
    a.visits, a.value_sum = 0, 0.0          # not kept by the beam
    b.visits, b.value_sum = 1, 0.4          # kept, score 0.4
    c.visits, c.value_sum = 1, 0.3
    assert select(tree, parse_method("sbs-3x5")).answer == "6"
    b.visits = c.visits = 0
    assert select(tree, parse_method("sbs")).answer == "5"  # nothing kept: every answered terminal, ties -> first
    a.visits, a.value_sum, b.visits, b.value_sum = 2, 1.0, 1, 0.9   # Q 0.5 vs 0.9
    assert select(tree, parse_method("mcts@8")).answer == "6"


def test_method_names_and_search_plan():
    assert parse_method("sbs-3x5").params == (("beam_width", "3"), ("n", "5"))
    assert parse_method("mcts@40").params == (("reward_weight", "0"), ("iterations", "40"))
    assert parse_method("MCTS").search == "mcts-alphamath" and parse_method("mcts").needs_scorer
    assert not parse_method("maj@4").needs_scorer and parse_method("vote-orm@4").needs_scorer
    for bad in ("maj@0", "best@4", "sbs-0x5", "beam"):
        with pytest.raises(ValueError, match="unknown method|must be"):
            parse_method(bad)
    methods = parse_methods("greedy, maj@4, prm-min@16, maj@4, sbs-1x5, sbs-3x5")
    assert [m.name for m in methods] == ["greedy", "maj@4", "prm-min@16", "sbs-1x5", "sbs-3x5"]
    groups = plan_searches(methods)
    assert [(g.search, g.params, [m.name for m in g.methods]) for g in groups] == [
        ("greedy", (), ["greedy"]),
        ("best-of-n", (("n", "16"),), ["maj@4", "prm-min@16"]),   # one 16-sample search for every @K method
        ("sbs", (("beam_width", "1"), ("n", "5")), ["sbs-1x5"]),
        ("sbs", (("beam_width", "3"), ("n", "5")), ["sbs-3x5"]),
    ]
    assert groups[1].label == "best-of-n_n=16"
    assert curve_ks(8) == [1, 2, 4, 8] and curve_ks(6) == [1, 2, 4, 6] and curve_ks(1) == [1]
