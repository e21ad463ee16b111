"""Code-augmented steps inside tree search (rStar-Math, arXiv 2501.04519, Sec. 3.1).

In code mode (``SearchEnv.step_format`` set to a ``transforms.code_steps.CodeStepFormat``) each
step is one Python block with the reasoning in comments, or a final step stating ``\\boxed{}``.
After a step is sampled it is parsed (``parse_step``); a code step's *cumulative* code (every
earlier code step on its path, then its own) runs in the sandboxed executor; the output is stored
on the node (``exec_status``, ``exec_output``) and shown to the policy before the next step.

rStar-Math keeps only steps whose code runs. treemill keeps the failed ones too, for failure
analysis, as terminal nodes with an undecidable verdict (method ``code_error`` or
``malformed_step``): searches give them the negative terminal reward and label code can filter
them by ``exec_status``. That is the one departure from the paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transforms.code_steps import CodeStepFormat, cumulative_code, format_output, parse_step, render_steps
from transforms.protocols import Verdict
from transforms.search.tree import Node, Tree

if TYPE_CHECKING:
    from transforms.search.base import SearchEnv

CODE_ERROR = "code_error"
MALFORMED_STEP = "malformed_step"


def path_text(fmt: CodeStepFormat, node: Node) -> str:
    """The path's steps with their execution outputs, as the policy sees them."""
    return render_steps([(n.step_text, n.exec_output if n.code is not None else None) for n in node.ancestors()], fmt)


def settle_code_step(tree: Tree, node: Node, env: SearchEnv, finish_reason: str | None, max_depth: int) -> None:
    """Parse ``node``'s sampled step, execute it if it has code, and end or verify the branch."""
    fmt = env.step_format
    parsed = parse_step(node.step_text, fmt, finish_reason=finish_reason)
    node.step_text = parsed.text
    if parsed.error:
        node.exec_status, node.exec_output = "malformed", parsed.error
        _end_branch(node, MALFORMED_STEP)
        return
    if parsed.code is None:  # a final step: states the answer, nothing to run
        node.step_kind = "answer"
        env.verify(tree, node)
        return
    node.step_kind, node.code = "code", parsed.code
    result = env.executor.execute(cumulative_code([n.code for n in node.ancestors() if n.code is not None]))
    node.exec_status, node.exec_output = result.status, format_output(result, fmt)
    if not result.ok:
        _end_branch(node, CODE_ERROR)
    elif node.depth >= max_depth or finish_reason == "eos":
        env.verify(tree, node)  # the answer may be the printed output (extraction "code_output")


def _end_branch(node: Node, method: str) -> None:
    node.is_terminal = True
    node.verdict = Verdict(equal=None, method=method)
