"""The text format of code-augmented reasoning steps: prompts, parsing, rendering, stop strings.

A code step is Python with the reasoning in comments (rStar-Math style). The policy writes one
step and stops where the execution output would begin; the step's code (with all earlier code
steps before it, see ``cumulative_code``) runs in the sandbox; the output is appended to the
step and the next step is generated. The last step states the answer instead of running code.

Two presets:

* ``RSTAR``: markdown fences, the ToRA/rStar-Math "code + output" layout::

      # reasoning as comments (or a sentence before the fence)
      ```python
      x = 3 * 7
      print(x)
      ```
      ```output
      21
      ```

  The final step ends with ``\\boxed{answer}``. Stop string: ``` ```output ```.

* ``ALPHAMATH``: the tag layout of AlphaMath / Super_MARIO::

      <step>
      <p>
      reasoning
      </p>
      <code>
      print(3 * 7)
      </code>
      <output>
      21
      </output>
      </step>

  The final step is ``<step>\\n<p>\\nFinal Answer: $21$\\n</p>\\n</step>``. Stop strings:
  ``</code>`` and ``</step>`` (the policy does not emit them, so the parser restores them).

Use: ``SamplingSpec(stop=fmt.stop)`` for one step; ``parse_step(sample.text, fmt,
finish_reason=sample.finish_reason)``; execute ``cumulative_code(path_steps + [parsed])``;
``render_steps([(step, result), ...], fmt)`` for the next prompt (``build_prompt`` adds the
question).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence, Union

from transforms.protocols import ExecutionResult, Policy
from transforms.verify.latex import last_boxed

RSTAR_INSTRUCTIONS = (
    "Solve the problem step by step. Write each step as a Python code block (```python ... ```) "
    "with your reasoning in comments, and print() what you need; the code is run and its output "
    "is shown in an ```output block before your next step. Code from earlier steps runs again "
    "before each new step, so earlier variables are available. When you know the answer, write "
    "a final step without code that states it as \\boxed{answer}."
)
ALPHAMATH_INSTRUCTIONS = (
    "Solve the problem step by step. Each step is <step><p>reasoning</p><code>python</code>"
    "</step>; the code is run and its output shown in <output></output>. End with a step "
    "<step><p>Final Answer: answer</p></step>."
)


@dataclass(frozen=True)
class CodeStepFormat:
    """Delimiters and conventions of one code-step layout (see ``RSTAR`` and ``ALPHAMATH``).

    ``stop`` is what the policy should stop on after one code step. When
    ``code_closed_by_stop`` the stop string is the code block's own closing tag, which vLLM
    leaves out of the text, so a code block open at the end of a step counts as closed.
    ``answer`` is ``"boxed"`` (``\\boxed{...}``) or ``"final_answer"`` (``Final Answer: ...``,
    falling back to ``\\boxed{}``). ``prose_tags`` are stripped from the reasoning text.
    """

    name: str
    code_open: str
    code_close: str
    output_open: str
    output_close: str
    stop: tuple[str, ...]
    answer: str = "boxed"
    final_answer_prefix: str = "Final Answer:"
    step_close: str = ""
    prose_tags: tuple[str, ...] = ()
    code_closed_by_stop: bool = False
    step_separator: str = "\n\n"
    question_template: str = "{question}\n\n"
    instructions: str = RSTAR_INSTRUCTIONS
    max_output_chars: int = 1024

    def __post_init__(self) -> None:
        if self.answer not in ("boxed", "final_answer"):
            raise ValueError(f"answer must be 'boxed' or 'final_answer', got {self.answer!r}")
        if not self.code_open or not self.code_close or not self.stop:
            raise ValueError("code_open, code_close and stop must not be empty")


RSTAR = CodeStepFormat(
    name="rstar",
    code_open="```python",
    code_close="```",
    output_open="```output",
    output_close="```",
    stop=("```output",),
)

ALPHAMATH = CodeStepFormat(
    name="alphamath",
    code_open="<code>",
    code_close="</code>",
    output_open="<output>",
    output_close="</output>",
    stop=("\n</code>", "</code>", "</step>"),
    answer="final_answer",
    step_close="</step>",
    prose_tags=("<step>", "</step>", "<p>", "</p>"),
    code_closed_by_stop=True,
    step_separator="\n",
    question_template="<question> {question} </question>\n",
    instructions=ALPHAMATH_INSTRUCTIONS,
    max_output_chars=500,
)

PRESETS = {fmt.name: fmt for fmt in (RSTAR, ALPHAMATH)}


@dataclass(frozen=True)
class ParsedStep:
    """One generated step, taken apart.

    ``text`` is the step as it goes into the path, without output (the code block's closing
    tag restored when the stop string removed it; ``render_step`` adds output and step end).
    ``reasoning`` is the prose around the code plus the code's comment lines. ``code`` is None
    for a step without a code block; ``answer`` is the stated final answer, if any. ``error``
    says why the step is malformed (then the search should drop or penalise it); None if fine.
    """

    text: str
    reasoning: str
    code: str | None
    answer: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def is_final(self) -> bool:
        return self.error is None and self.answer is not None


Output = Union[str, ExecutionResult, None]


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_step(text: str, fmt: CodeStepFormat = RSTAR, *, finish_reason: str | None = None) -> ParsedStep:
    """Split one generated step into reasoning, code and final answer; never raises.

    ``finish_reason`` is the sample's (``"stop"``, ``"length"``, ...): a step cut off by
    ``max_tokens`` never counts as closed by a stop string.
    """
    body = _without_step_close(_before_output(text, fmt), fmt)
    opens = [m.start() for m in re.finditer(re.escape(fmt.code_open), body, re.IGNORECASE)]
    if not opens:
        return _parse_prose_step(body, fmt)
    if len(opens) > 1:
        return _malformed(body, fmt, "more than one code block in one step")
    start = opens[0] + len(fmt.code_open)
    close = body.find(fmt.code_close, start)
    if close >= 0:
        code_text, after = body[start:close], body[close + len(fmt.code_close) :]
    elif fmt.code_closed_by_stop and finish_reason != "length":
        code_text, after = body[start:], ""
        body = body.rstrip() + "\n" + fmt.code_close
    else:
        cut = " (generation hit max_tokens)" if finish_reason == "length" else ""
        return _malformed(body, fmt, f"unclosed code block{cut}")
    return _parse_code_step(body, fmt, _clean_code(code_text), body[: opens[0]] + after)


def _before_output(text: str, fmt: CodeStepFormat) -> str:
    """The text before any output block the model wrote itself: only the sandbox writes those."""
    cut = text.find(fmt.output_open)
    return text if cut < 0 else text[:cut]


def _parse_prose_step(body: str, fmt: CodeStepFormat) -> ParsedStep:
    answer = extract_answer(body, fmt)
    error = None if answer is not None else "no code block and no final answer"
    return ParsedStep(_with_step_close(body, fmt), _prose(body, fmt), None, answer, error)


def _parse_code_step(body: str, fmt: CodeStepFormat, code: str, prose: str) -> ParsedStep:
    answer = extract_answer(prose, fmt)
    reasoning = "\n".join(part for part in (_prose(prose, fmt), _comments(code)) if part)
    error = None
    if not _has_statements(code):
        error = "empty code block"
    elif answer is not None:
        error = "a step with code must not state the final answer before seeing its output"
    # No step_close yet: it follows the output block (see render_step).
    return ParsedStep(body.rstrip(), reasoning, code, answer, error)


def _malformed(body: str, fmt: CodeStepFormat, error: str) -> ParsedStep:
    return ParsedStep(body.rstrip(), _prose(body, fmt), None, None, error)


def _without_step_close(text: str, fmt: CodeStepFormat) -> str:
    body = text.rstrip()
    if fmt.step_close and body.endswith(fmt.step_close):
        body = body[: -len(fmt.step_close)].rstrip()
    return body


def _with_step_close(body: str, fmt: CodeStepFormat) -> str:
    return body.rstrip() + ("\n" + fmt.step_close if fmt.step_close else "")


def _clean_code(code: str) -> str:
    """The code without surrounding blank lines or a markdown fence nested inside a tag."""
    code = code.strip("\n")
    lines = code.splitlines()
    if lines and lines[0].strip().lower() in ("```", "```python", "```py"):
        lines = lines[1:]
    if lines and lines[-1].strip() == "```":
        lines = lines[:-1]
    return "\n".join(lines).strip("\n")


def _has_statements(code: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in code.splitlines())


def _comments(code: str) -> str:
    lines = (line.strip() for line in code.splitlines())
    return "\n".join(line.lstrip("#").strip() for line in lines if line.startswith("#") and line.lstrip("#").strip())


def _prose(text: str, fmt: CodeStepFormat) -> str:
    for tag in fmt.prose_tags:
        text = text.replace(tag, "\n")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def extract_answer(text: str, fmt: CodeStepFormat = RSTAR) -> str | None:
    """The final answer stated in ``text`` per ``fmt.answer``, or None."""
    if fmt.answer == "final_answer":
        stated = _after_prefix(text, fmt.final_answer_prefix)
        if stated is not None:
            return stated
    return last_boxed(text)


def _after_prefix(text: str, prefix: str) -> str | None:
    at = text.rfind(prefix)
    if at < 0:
        return None
    answer = text[at + len(prefix) :].split("</p>")[0].strip()
    if len(answer) >= 2 and answer.startswith("$") and answer.endswith("$"):
        answer = answer[1:-1].strip()
    return answer or None


# --------------------------------------------------------------------------------------------
# Execution and rendering
# --------------------------------------------------------------------------------------------

# Earlier steps run again before the new one (so their variables exist), silenced so that the
# output is the new step's own. Names are prefixed to stay out of the program's way.
_SILENCE = "import io as _treemill_io, sys as _treemill_sys\n_treemill_sys.stdout = _treemill_io.StringIO()\n"
_UNSILENCE = "_treemill_sys.stdout = _treemill_sys.__stdout__\n"


def cumulative_code(steps: Sequence[str | ParsedStep], *, silence_earlier: bool = True) -> str:
    """The program to execute for the last step: the code of all earlier steps, then its own.

    Steps without code (or malformed ones) are skipped. With ``silence_earlier`` whatever the
    earlier steps print is discarded, so the output belongs to the last step alone.
    """
    codes = [code for code in (_code_of(step) for step in steps) if code and code.strip()]
    if len(codes) <= 1:
        return codes[0] if codes else ""
    earlier = "\n".join(codes[:-1])
    if not silence_earlier:
        return earlier + "\n" + codes[-1]
    return _SILENCE + earlier + "\n" + _UNSILENCE + codes[-1]


def _code_of(step: str | ParsedStep) -> str | None:
    if isinstance(step, ParsedStep):
        return step.code if step.ok else None
    return step


def format_output(result: ExecutionResult, fmt: CodeStepFormat = RSTAR) -> str:
    """What the model sees of an execution: stdout, plus the error line when it failed."""
    text = result.stdout.rstrip("\n")
    if result.status == "error":
        text = "\n".join(part for part in (text, result.reason or "Error") if part)
    elif result.status == "timeout":
        text = "\n".join(part for part in (text, f"TimeoutError: {result.reason}") if part)
    elif result.status != "ok":
        text = "\n".join(part for part in (text, f"{result.status}: {result.reason}") if part)
    elif result.truncated:
        text += "\n... (output truncated)"
    return _shorten(text, fmt.max_output_chars)


def _shorten(text: str, limit: int) -> str:
    """Keep the head and the tail of an overlong output."""
    if len(text) <= limit:
        return text
    half = max(1, (limit - 5) // 2)
    return text[:half] + "\n...\n" + text[-half:]


def render_step(step: str | ParsedStep, output: Output = None, fmt: CodeStepFormat = RSTAR) -> str:
    """One step with its output block (none when ``output`` is None, e.g. a final step)."""
    body = _without_step_close(step.text if isinstance(step, ParsedStep) else step, fmt)
    if isinstance(output, ExecutionResult):
        output = format_output(output, fmt)
    if output is not None:
        shown = output.strip("\n")
        body += f"\n{fmt.output_open}\n{shown}\n{fmt.output_close}"
    return _with_step_close(body, fmt)


def render_steps(steps: Sequence[tuple[str | ParsedStep, Output]], fmt: CodeStepFormat = RSTAR) -> str:
    """A path's steps with their outputs, ending where the next step begins."""
    if not steps:
        return ""
    return fmt.step_separator.join(render_step(step, output, fmt) for step, output in steps) + fmt.step_separator


def build_prompt(
    question: str,
    steps: Sequence[tuple[str | ParsedStep, Output]] = (),
    fmt: CodeStepFormat = RSTAR,
    policy: Policy | None = None,
) -> str:
    """The prompt for the next step: the question (in the policy's chat template, with the
    format's instructions as system prompt, when a policy is given) and the path so far."""
    if policy is not None:
        head = policy.chat_prompt(question, system=fmt.instructions)
    else:
        head = fmt.question_template.format(question=question)
    return head + render_steps(steps, fmt)
