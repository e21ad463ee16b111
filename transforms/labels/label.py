"""Label one stored tree in every way: step rows (steps/v1), pairs (pairs/v1), SFT traces (sft/v1).

``label_rows`` is what the label pipeline calls per problem: node rows + the problem row in,
derived rows out, or a ``LabelError`` saying why the tree cannot be labelled (a dead letter).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from transforms.labels.options import LabelOptions
from transforms.labels.outcomes import Outcomes, excluded, subtree_outcomes
from transforms.labels.pairs import Pair, ppm_pairs, sibling_pairs, solution_pairs
from transforms.labels.traces import Trace, select_sft, traces
from transforms.labels.values import (Quality, prm_label, rest_quality, rule_q, shepherd_hard, shepherd_soft, terminal_q,
                                      trusts_search_q)
from transforms.search.tree import Node, Tree, node_id, path_str

# Recorded in the label manifest: which functions made the derived tables.
LABEL_FUNCTIONS = {
    "q_terminal": "mean terminal reward (+1/-1) over the stored completions below a step: rStar-Math's "
                  "terminal-guided annotation (arXiv 2501.04519 Eq. 2) with each stored terminal counted once",
    "q": "the search's own Q where it estimates the terminal reward (mcts-rstar: rStar-Math Q; mcts-alphamath: "
         "AlphaMath's value target Q-hat, arXiv 2405.03553 §3), else q_terminal",
    "shepherd_hard/soft": "Math-Shepherd hard/soft estimates (arXiv 2312.08935 Eq. 3-4)",
    "rest_value": "ReST-MCTS* reasoning distance, weighted reward, quality value (arXiv 2406.03816 Eq. 1-2)",
    "ppm pairs": "rStar-Math process preference pairs (arXiv 2501.04519 §3.3, Eq. 4 weights; released-code filters)",
    "sibling pairs": "MCTS-DPO / Step-DPO sibling step pairs (arXiv 2405.00451 §2.2, 2406.18629)",
    "solution pairs": "rStar-Math final-step pairs: 2 best correct x 2 worst incorrect trajectories by mean Q "
                      "(arXiv 2501.04519 §3.3); or Iterative RPO ranked pairs (arXiv 2404.19733 §2)",
    "sft": "rStar-Math top-k correct traces by mean Q (arXiv 2501.04519 §3.3)",
}


class LabelError(ValueError):
    """A tree that cannot be labelled; the message becomes the dead letter's reason."""


@dataclass(frozen=True)
class Provenance:
    label_run_id: str
    run_id: str
    verifier: str | None
    search: str | None = None  # nodes.search: decides whether the stored Q is a terminal-reward estimate


@dataclass(frozen=True)
class Labelled:
    steps: list[dict]
    pairs: list[dict]
    sft: list[dict]


def label_rows(node_rows: list[dict], problem: dict | None, options: LabelOptions, label_run_id: str) -> Labelled:
    """Rebuild the tree from its stored rows and label it. Raises LabelError."""
    if problem is None:
        raise LabelError("no problems row for this tree (question and gold answer unknown)")
    run_ids = sorted({r["run_id"] for r in node_rows})
    if len(run_ids) != 1:
        raise LabelError(f"node rows come from {len(run_ids)} runs ({', '.join(run_ids[:3])}); label one run at a time")
    searches = sorted({r["search"] for r in node_rows if r.get("search")})
    if len(searches) > 1:
        raise LabelError(f"node rows come from {len(searches)} searches ({', '.join(searches)}); one tree, one search")
    try:
        tree = Tree.from_rows(node_rows, question=problem["question"], gold_answer=problem["gold_answer"])
    except ValueError as err:
        raise LabelError(f"cannot rebuild the tree: {err}") from None
    verifiers = sorted({r["verifier"] for r in node_rows if r.get("verifier")})
    return label_tree(tree, options, Provenance(label_run_id, run_ids[0], ", ".join(verifiers) or None,
                                                searches[0] if searches else None))


def label_tree(tree: Tree, options: LabelOptions, provenance: Provenance) -> Labelled:
    """Every label, pair and SFT trace of one tree (pure: the tree is not changed)."""
    outcomes = subtree_outcomes(tree, options.step)
    trust, left_out = trusts_search_q(provenance.search, options.step.q_source), excluded(tree, options.step)
    q = {n.path: rule_q(n, outcomes[n.path], trust, n.path in left_out) for n in tree.nodes()}
    quality = rest_quality(tree, outcomes)
    all_traces = traces(tree, q, options.step)
    pairs = (ppm_pairs(tree, outcomes, q, options.ppm) + sibling_pairs(tree, q, options.sibling)
             + solution_pairs(tree, all_traces, options.solution))
    sft = select_sft(all_traces, options.sft)
    base = {"label_run_id": provenance.label_run_id, "run_id": provenance.run_id, "problem_id": tree.problem_id,
            "verifier": provenance.verifier}
    return Labelled(
        steps=[_step_row(base, tree, n, outcomes[n.path], q[n.path], quality[n.path], options.step.prm_label)
               for n in tree.nodes()[1:]],
        pairs=[_pair_row(base, tree, p) for p in pairs],
        sft=[_sft_row(base, tree, t, rank) for rank, t in enumerate(sft, start=1)],
    )


def _id(tree: Tree, node: Node) -> str:
    return node_id(tree.problem_id, node.path)


def _step_row(base: dict, tree: Tree, n: Node, o: Outcomes, q: float | None, quality: Quality | None, source: str) -> dict:
    v = n.verdict
    return {
        **base, "node_id": _id(tree, n), "parent_id": _id(tree, n.parent), "path": path_str(n.path), "depth": n.depth,
        "step_text": n.step_text, "step_kind": n.step_kind, "is_terminal": n.is_terminal,
        "verdict": v.equal if v else None, "verdict_method": v.method if v else None,
        "exec_status": n.exec_status, "num_tokens": n.num_tokens,
        "completions": o.completions, "correct_completions": o.correct,
        "q_search": n.q, "q_terminal": terminal_q(o), "q": q,
        "shepherd_hard": shepherd_hard(o), "shepherd_soft": shepherd_soft(o),
        "rest_distance": quality.distance if quality else None,
        "rest_step_reward": quality.step_reward if quality else None,
        "rest_weighted_reward": quality.weighted_reward if quality else None,
        "rest_value": quality.value if quality else None,
        "label": prm_label(source, o, q, quality), "label_source": source,
    }


def pair_id(problem_id: str, kind: str, chosen: str, rejected: str) -> str:
    return hashlib.sha1(f"{problem_id}\x00{kind}\x00{chosen}\x00{rejected}".encode()).hexdigest()[:16]


def _pair_row(base: dict, tree: Tree, p: Pair) -> dict:
    chosen, rejected = _id(tree, p.chosen), _id(tree, p.rejected)
    return {
        **base, "pair_id": pair_id(tree.problem_id, p.kind, chosen, rejected), "kind": p.kind,
        "branch_node_id": _id(tree, p.branch), "depth": p.branch.depth + 1, "question": tree.question,
        "prefix": list(p.branch.steps()), "chosen": p.chosen_text, "rejected": p.rejected_text,
        "chosen_node_id": chosen, "rejected_node_id": rejected, "chosen_q": p.chosen_q, "rejected_q": p.rejected_q,
        "margin": p.margin, "edit_distance": p.edit_distance, "pos_count": p.pos_count, "neg_count": p.neg_count,
    }


def _sft_row(base: dict, tree: Tree, t: Trace, rank: int) -> dict:
    steps = t.leaf.ancestors()
    tokens = [n.num_tokens for n in steps]
    return {
        **base, "leaf_node_id": _id(tree, t.leaf), "rank": rank, "question": tree.question,
        "gold_answer": tree.gold_answer, "steps": list(t.steps), "solution": t.text,
        "extracted_answer": t.leaf.verdict.extracted if t.leaf.verdict else None,
        "mean_q": t.mean_q, "min_q": t.min_q, "num_steps": len(steps),
        "num_tokens": None if None in tokens else sum(tokens),
    }
