"""Code-augmented steps inside tree search (rStar-Math, arXiv 2501.04519, Sec. 3.1; AlphaMath's tool steps).

In code mode (``SearchEnv.step_format`` set to a ``transforms.step_formats.code.CodeStepFormat``) each
step is one Python block with the reasoning in comments, or a final step stating ``\\boxed{}``.
After a step is sampled it is parsed (``parse_step``); a code step's *cumulative* code (the code of
every earlier step on its path that ran cleanly, then its own) runs in the sandboxed executor; the
output is stored on the node (``exec_status``, ``exec_output``) and shown to the policy before the
next step.

Failed code, as in the released code (Super_MARIO and rStar ``create_child``): a step whose code
fails is kept and its error is shown to the policy, which may repair it in the next step; only when
the branch has more than ``code_errors_allowed`` failed code steps in a row does it end
(``endings.CODE_ERROR``, the code's ``TOO_MANY_CODE_ERRORS``). Super_MARIO's configs use
``errors_threshold: 3`` with ``> threshold`` (3 failures tolerated, the 4th ends the branch); rStar's
``sample_mcts.yaml`` 2 with ``>= threshold`` (1 tolerated), ``sft_sample_mcts.yaml`` 1 (none). A step
that cannot be parsed ends its branch at once (``endings.MALFORMED_STEP``, the code's
``NO_VALID_CHILD``). Node rows say which steps failed: ``exec_status`` is ``ok`` only for code that
ran cleanly (``malformed`` for an unparsable step).

Departures: the cumulative program leaves out earlier steps whose code failed (the reference reruns
each earlier snippet separately, errors and all; one program here would stop at the first error);
and a code step that ends generation (EOS) without a stated answer is not verified on its printed
output: it ends with ``endings.NO_ANSWER`` (the papers' formats end only with a stated answer).

This module knows nothing of ``SearchEnv``: the caller passes the format, the executor and a
``verify`` callback.
"""

from __future__ import annotations

from typing import Callable

from transforms.step_formats.code import (
    CodeStepFormat, cumulative_code, format_output, parse_step, render_step, render_steps,
)
from transforms.protocols import Executor
from transforms.search.endings import CODE_ERROR, MALFORMED_STEP, NO_ANSWER, TOO_MANY_STEPS, end_branch
from transforms.search.tree import Node


def shown_steps(fmt: CodeStepFormat, node: Node) -> tuple[str, ...]:
    """The path's steps, each with the execution output the policy saw after it."""
    return tuple(render_step(n.step_text, _output(n), fmt) for n in node.ancestors())


def path_text(fmt: CodeStepFormat, node: Node) -> str:
    """The path's steps with their execution outputs, as the policy sees them."""
    return render_steps([(n.step_text, _output(n)) for n in node.ancestors()], fmt)


def _output(node: Node) -> str | None:
    return node.exec_output if node.code is not None else None


def ran_cleanly(node: Node) -> bool:
    return node.code is not None and node.exec_status == "ok"


def consecutive_code_errors(node: Node) -> int:
    """Failed code steps in a row ending at ``node`` (Super_MARIO's ``consecutive_errors``)."""
    count = 0
    while node.parent is not None and node.code is not None and node.exec_status != "ok":
        count += 1
        node = node.parent
    return count


def settle_code_step(node: Node, *, fmt: CodeStepFormat, executor: Executor, verify: Callable[[Node], None],
                     finish_reason: str | None, max_depth: int, code_errors_allowed: int) -> None:
    """Parse ``node``'s sampled step, execute it if it has code, and end, verify or continue the branch."""
    parsed = parse_step(node.step_text, fmt, finish_reason=finish_reason)
    node.step_text = parsed.text
    if parsed.error:
        node.exec_status, node.exec_output = "malformed", parsed.error
        end_branch(node, MALFORMED_STEP)
        return
    if parsed.code is None:  # a final step: states the answer, nothing to run
        node.step_kind = "answer"
        verify(node)
        return
    node.step_kind, node.code = "code", parsed.code
    earlier = [n.code for n in node.ancestors()[:-1] if ran_cleanly(n)]
    result = executor.execute(cumulative_code(earlier + [parsed.code]))
    node.exec_status, node.exec_output = result.status, format_output(result, fmt)
    if not result.ok and consecutive_code_errors(node) > code_errors_allowed:
        end_branch(node, CODE_ERROR)
    elif node.depth > max_depth:
        end_branch(node, TOO_MANY_STEPS)
    elif finish_reason == "eos":
        end_branch(node, NO_ANSWER)
