"""The search tree: nodes with stable path ids, statistics, and conversion to/from node rows.

A node's id is a hash of (problem_id, path), where the path lists child indices from the root, so
the same node has the same id in every run and a stored tree can be reloaded and searched further.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from transforms.protocols import Verdict


def node_id(problem_id: str, path: tuple[int, ...]) -> str:
    """Stable node id: 16 hex digits of SHA-1 over ``problem_id`` and the dotted path."""
    return hashlib.sha1(f"{problem_id}\x00{path_str(path)}".encode()).hexdigest()[:16]


def path_str(path: tuple[int, ...]) -> str:
    return ".".join(map(str, path))


def parse_path(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")) if text else ()


@dataclass(eq=False)
class Node:
    """One step of a partial solution. The root (path ``()``) holds no step."""

    path: tuple[int, ...]
    step_text: str = ""
    step_kind: str = "root"
    parent: Node | None = field(default=None, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)
    is_terminal: bool = False
    finish_reason: str | None = None
    visits: int = 0
    value_sum: float = 0.0
    q_value: float | None = None
    value_estimate: float | None = None
    prior: float | None = None
    prior_logprob: float | None = None
    num_tokens: int | None = None
    prompt_tokens: int | None = None
    code: str | None = None
    exec_status: str | None = None
    exec_output: str | None = None
    verdict: Verdict | None = None

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def q(self) -> float | None:
        """Q(s): the value the search set, else the mean backed-up value W/N (None if unvisited)."""
        if self.q_value is not None:
            return self.q_value
        return self.value_sum / self.visits if self.visits else None

    def add_child(self, step_text: str, step_kind: str = "text", **stats) -> Node:
        child = Node(path=self.path + (len(self.children),), step_text=step_text, step_kind=step_kind,
                     parent=self, **stats)
        self.children.append(child)
        return child

    def ancestors(self) -> list[Node]:
        """Nodes from the root's first child down to this node (the steps of this partial solution)."""
        chain, node = [], self
        while node.parent is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    def steps(self) -> tuple[str, ...]:
        return tuple(n.step_text for n in self.ancestors())

    def walk(self) -> Iterator[Node]:
        """This node and every descendant, depth first in child order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> list[Node]:
        return [n for n in self.walk() if not n.children and n.parent is not None]


@dataclass(eq=False)
class Tree:
    problem_id: str
    question: str
    gold_answer: str
    root: Node = field(default_factory=lambda: Node(path=()))

    def nodes(self) -> list[Node]:
        return list(self.root.walk())

    def to_rows(self, *, run_id: str, model_id: str, search: str, search_config_hash: str,
                verifier: str | None = None, created_at: datetime | None = None) -> list[dict]:
        """One dict per node in the layout of ``schemas.NODES_V1``."""
        created = created_at or datetime.now(timezone.utc)
        return [self._row(n, run_id, model_id, search, search_config_hash, verifier, created) for n in self.root.walk()]

    def _row(self, n: Node, run_id, model_id, search, config_hash, verifier, created) -> dict:
        v = n.verdict
        return {
            "run_id": run_id, "problem_id": self.problem_id, "node_id": node_id(self.problem_id, n.path),
            "parent_id": node_id(self.problem_id, n.parent.path) if n.parent else None,
            "path": path_str(n.path), "depth": n.depth, "step_text": n.step_text, "step_kind": n.step_kind,
            "code": n.code, "exec_status": n.exec_status, "exec_output": n.exec_output,
            "is_terminal": n.is_terminal, "finish_reason": n.finish_reason,
            "extracted_answer": v.extracted if v else None, "extraction_method": v.extraction_method if v else None,
            "verdict": v.equal if v else None, "verdict_method": v.method if v else None,
            "verifier": verifier if v else None,
            "visits": n.visits, "value_sum": n.value_sum, "q_value": n.q, "value_estimate": n.value_estimate,
            "prior": n.prior, "prior_logprob": n.prior_logprob, "num_tokens": n.num_tokens,
            "prompt_tokens": n.prompt_tokens, "model_id": model_id, "search": search,
            "search_config_hash": config_hash, "created_at": created,
        }

    @classmethod
    def from_rows(cls, rows: list[dict], question: str = "", gold_answer: str = "") -> Tree:
        """Rebuild a tree from its node rows (any order) so it can be inspected or searched further."""
        if not rows:
            raise ValueError("no rows to rebuild a tree from")
        problem_ids = {r["problem_id"] for r in rows}
        if len(problem_ids) != 1:
            raise ValueError(f"rows span several problems: {sorted(problem_ids)[:3]}")
        tree = cls(problem_id=problem_ids.pop(), question=question, gold_answer=gold_answer)
        by_path = {(): tree.root}
        for row in sorted(rows, key=lambda r: (r["depth"], parse_path(r["path"]))):
            path = parse_path(row["path"])
            node = tree.root if not path else _node_from_row(row, path, by_path)
            _copy_stats(node, row)
            by_path[path] = node
        return tree


def _node_from_row(row: dict, path: tuple[int, ...], by_path: dict) -> Node:
    parent = by_path.get(path[:-1])
    if parent is None:
        raise ValueError(f"node {row['path']!r} has no parent row")
    if path[-1] != len(parent.children):
        raise ValueError(f"node {row['path']!r} is out of order: parent has {len(parent.children)} children")
    return parent.add_child(row["step_text"], row["step_kind"])


def _copy_stats(node: Node, row: dict) -> None:
    for name in ("is_terminal", "finish_reason", "visits", "value_sum", "value_estimate", "prior",
                 "prior_logprob", "num_tokens", "prompt_tokens", "code", "exec_status", "exec_output"):
        setattr(node, name, row.get(name))
    visits, value_sum, q = row.get("visits") or 0, row.get("value_sum") or 0.0, row.get("q_value")
    # Keep an explicit Q only when it is not simply W/N (e.g. rStar's annotated Q).
    node.q_value = q if q is not None and (not visits or abs(q - value_sum / visits) > 1e-12) else None
    node.visits, node.value_sum = visits, value_sum
    if row.get("verdict_method") is not None:
        node.verdict = Verdict(equal=row.get("verdict"), method=row["verdict_method"],
                               extracted=row.get("extracted_answer"), extraction_method=row.get("extraction_method"))
