"""Small hand-built trees with known labels, shared by the label, query and export tests.

p1 has no search statistics (stored as a best-of-n tree: the label-time Q from terminal rewards is
used); p2 stores rStar-style MCTS visit statistics (stored as an mcts-rstar tree, whose Q estimates
the terminal reward), so its stored Q drives the pair rules. Every number the tests
expect is worked out by hand in the tests' comments from the trees drawn here.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from schemas import NODES_V1, PROBLEMS_V1
from transforms.protocols import Verdict
from transforms.search.tree import Tree
from transforms.io.shards import write_table

RIGHT = Verdict(True, "numeric", "5", "boxed")
CREATED = datetime(2025, 1, 1, tzinfo=timezone.utc)
VERIFIER = "math/1"


def _verdict(equal: bool | None, answer: str | None) -> Verdict:
    return Verdict(equal, "numeric" if equal is not None else "no_answer", answer, "boxed" if answer else None)


def _leaf(parent, text: str, equal: bool | None, answer: str | None, **stats):
    return parent.add_child(text, "answer" if answer else "text", is_terminal=True, num_tokens=10,
                            verdict=_verdict(equal, answer), **stats)


def tree_p1() -> Tree:
    r"""What is 2 + 3? (gold 5); no visit statistics.

    root
    |- A "Adding the numbers: 2 + 3 = 5."    A0 ok, A1 ok but its code failed (exec error), A2 wrong
    |- B "Adding the numbers: 2 + 3 = 6."    B0 wrong, B1 ok
    |- C "I will just guess the answer."     C0 wrong
    |- D "Adding the numbers: 2 + 3 = 6!"    D0 wrong          (2 edits from A's text)
    |- E "Let me think about it."            E0 no answer (verdict None)
    `- F "First, 2 + 3." -> F0 "That equals 5." -> F00 ok       (a 3-step correct chain)
    """
    tree = Tree("p1", "What is 2 + 3?", "5")
    step = dict(num_tokens=10)
    a = tree.root.add_child("Adding the numbers: 2 + 3 = 5.", **step)
    _leaf(a, "The answer is \\boxed{5}.", True, "5")
    code = a.add_child("```python\nprint(2 + 3)\n```\nSo we get \\boxed{5} in total.", "code", is_terminal=True,
                       num_tokens=10, code="print(2 + 3)", exec_status="error", verdict=_verdict(True, "5"))
    assert code.path == (0, 1)
    _leaf(a, "Then doubling it gives \\boxed{10}.", False, "10")
    b = tree.root.add_child("Adding the numbers: 2 + 3 = 6.", **step)
    _leaf(b, "The answer is \\boxed{6}.", False, "6")
    _leaf(b, "Checking again, the sum is \\boxed{5}.", True, "5")
    c = tree.root.add_child("I will just guess the answer.", **step)
    _leaf(c, "\\boxed{7}", False, "7")
    d = tree.root.add_child("Adding the numbers: 2 + 3 = 6!", **step)
    _leaf(d, "Final answer: \\boxed{6}", False, "6")
    e = tree.root.add_child("Let me think about it.", **step)
    _leaf(e, "I am not sure.", None, None)
    f = tree.root.add_child("First, 2 + 3.", **step)
    f0 = f.add_child("That equals 5.", **step)
    _leaf(f0, "\\boxed{5}", True, "5")
    return tree


def tree_p2() -> Tree:
    """What is 4 * 2? (gold 8); MCTS statistics stored: Q = W/N.

    root -> X (Q 0.3) -> X0 ok;  Y (Q 0.0) -> Y0 wrong;  Z (Q -0.9) -> Z0 wrong;
            W (Q -0.8) -> W0 wrong;  V (Q -0.7) -> V0 wrong.   Leaves: N = 1, W = +-1.
    """
    tree = Tree("p2", "What is 4 * 2?", "8")
    tree.root.visits, tree.root.value_sum = 11, -2.0
    children = [("Multiply four by two to get 8.", 0.9, "The answer is \\boxed{8}.", True, "8"),
                ("Four times two, carefully: maybe 9.", 0.0, "The answer is \\boxed{9}.", False, "9"),
                ("Four plus two is six.", -1.8, "\\boxed{6}", False, "6"),
                ("Two squared is four.", -1.6, "\\boxed{4}", False, "4"),
                ("Halving four gives two.", -1.4, "\\boxed{2}", False, "2")]
    for text, value_sum, answer_text, equal, answer in children:
        child = tree.root.add_child(text, num_tokens=10, visits=2 if equal is False else 3, value_sum=value_sum)
        _leaf(child, answer_text, equal, answer, visits=1, value_sum=1.0 if equal else -1.0)
    return tree


SEARCH = {"p1": "best-of-n", "p2": "mcts-rstar"}


def node_rows(tree: Tree, run_id: str = "run-hand", search: str | None = None) -> list[dict]:
    return tree.to_rows(run_id=run_id, model_id="hand", search=search or SEARCH.get(tree.problem_id, "hand"),
                        search_config_hash="h0", verifier=VERIFIER, created_at=CREATED)


def problem_row(tree: Tree) -> dict:
    return {"problem_id": tree.problem_id, "source": "hand", "question": tree.question,
            "gold_answer": tree.gold_answer, "metadata": "{}"}


def write_hand_trees(out, *, broken: bool = True, prefix: str = "hand") -> None:
    """Store p1 and p2 under ``out`` like generate does (plus, with ``broken``, two unlabellable trees:
    p3 whose node '0' is missing, and p4 without a problems row)."""
    trees = [tree_p1(), tree_p2()]
    rows = [row for t in trees for row in node_rows(t)]
    problems = [problem_row(t) for t in trees]
    if broken:
        orphan = Tree("p3", "What is 1 + 1?", "2")
        orphan.root.add_child("One plus one.").add_child("\\boxed{2}", "answer", is_terminal=True,
                                                          verdict=_verdict(True, "2"))
        rows += [r for r in node_rows(orphan) if r["path"] != "0"]
        problems.append(problem_row(orphan))
        rows += node_rows(Tree("p4", "unknown", "0"))
    write_table(pa.Table.from_pylist(rows, schema=NODES_V1), f"{out}/nodes/{prefix}-00000-of-00001.parquet")
    write_table(pa.Table.from_pylist(problems, schema=PROBLEMS_V1), f"{out}/problems/{prefix}-00000-of-00001.parquet")
