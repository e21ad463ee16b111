"""How a branch ends without a verified answer: the verdict methods every search writes.

A branch that states a final answer is verified (``SearchEnv.verify``). Every other way a branch can
end gets verdict ``None`` and one of the methods below, and the verifier is never called on it, so no
fallback (the last number in the text, say) can label an unfinished solution correct. The papers'
code treats these endings as wrong: Super_MARIO and rStar-Math give ``TOO_MANY_STEPS``,
``NO_VALID_CHILD`` and ``TOO_MANY_CODE_ERRORS`` the negative reward (``mcts.py``
``eval_final_answer``); how far that reward travels is each algorithm's rule (AlphaMath: to the
root; rStar-Math: the node only).

Node-row semantics (what label code can rely on):

- ``too_many_steps``: a step at depth > ``max_depth`` that states no answer (Super_MARIO and rStar:
  ``new_node.depth > max_depth`` -> ``TOO_MANY_STEPS``).
- ``length``: the step hit the token limit of one step (``finish_reason = length``) and states no answer.
- ``empty_step``: the step is empty (a model emitting only the separator would loop).
- ``no_answer``: generation ended (EOS) without a stated answer. The verifier also returns
  ``no_answer`` when a stated answer cannot be extracted; both are undecidable.
- ``code_error`` (code mode): the step's code failed and the branch already had
  ``code_errors_allowed`` failed code steps in a row (Super_MARIO/rStar ``TOO_MANY_CODE_ERRORS``).
  A failed code step within the allowance is *not* terminal: its ``exec_status`` is not ``ok``, the
  policy sees the error and the branch goes on.
- ``malformed_step`` (code mode): the step could not be parsed (``NO_VALID_CHILD``); ``exec_status``
  is ``malformed``.
"""

from __future__ import annotations

from schemas.nodes import CODE_FAILURE_METHODS, UNFINISHED_METHODS
from transforms.protocols import Verdict
from transforms.search.tree import Node

# The strings live in the node schema, which label code reads; these names are the search's handles.
TOO_MANY_STEPS, EMPTY_STEP, LENGTH = UNFINISHED_METHODS
CODE_ERROR, MALFORMED_STEP = CODE_FAILURE_METHODS
NO_ANSWER = "no_answer"  # also the verifier's method when a stated answer cannot be extracted

UNFINISHED = frozenset({TOO_MANY_STEPS, LENGTH, EMPTY_STEP, NO_ANSWER, CODE_ERROR, MALFORMED_STEP})
FAILED_STEP = frozenset({CODE_ERROR, MALFORMED_STEP})  # the step itself is broken, not just the branch cut


def end_branch(node: Node, method: str) -> None:
    """Mark ``node`` terminal with an undecidable verdict; the verifier is not called."""
    if method not in UNFINISHED:
        raise ValueError(f"unknown branch ending {method!r}")
    node.is_terminal = True
    node.verdict = Verdict(equal=None, method=method)


def is_unfinished(node: Node) -> bool:
    """A terminal node whose branch ended without a verified answer (see the module docstring)."""
    return node.is_terminal and node.verdict is not None and node.verdict.equal is None \
        and node.verdict.method in UNFINISHED and node.verdict.extracted is None
