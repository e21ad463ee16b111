"""GSM8K solutions with calculator annotations -> rStar-Math code steps, deterministically.

rStar-Math (Guan et al. 2025, arXiv 2501.04519, Sec. 3.1) bootstraps round 0 from code-augmented
traces written by a stronger model: every step is a Python block whose comments hold the reasoning,
and the block's printed output is shown before the next step. GSM8K train solutions already carry
the arithmetic as calculator annotations (``48/2 = <<48/2=24>>24 clips``), so they convert without
a model:

* each line of the solution is one sentence; its text (annotations removed) becomes a ``#`` comment;
* each annotation ``<<EXPR=RESULT>>`` becomes an assignment ``name = EXPR`` and ``print(name)``;
  a number in EXPR that is the RESULT of an earlier annotation is replaced by that variable, so
  the steps build on each other as code does;
* lines without an annotation wait and become comments of the next step with code (or prose of the
  final step);
* the ``#### ANSWER`` line becomes the final step: ``The answer is \\boxed{ANSWER}.``

Variable names come from the first plain word after the annotation's result (``24 clips`` ->
``clips``), else ``value``; a repeated name gets ``_2``, ``_3``. The function never runs the code;
``python -m transforms.bootstrap`` runs every trace in the sandbox and keeps the ones whose last
printed value equals the gold answer.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from dataclasses import dataclass
from typing import Sequence

from transforms.step_formats.code import RSTAR, CodeStepFormat, render_steps

ANNOTATION = re.compile(r"<<([^<>]*?)=([^<>=]*)>>")
NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_ARITHMETIC = re.compile(r"^[\d\s.+\-*/()%]*$")
_WORD = re.compile(r"[A-Za-z]+")
_BUILTINS = frozenset(dir(builtins))  # never shadow print, sum, max, ...
# Words that say little about the quantity: skipped when naming a variable.
_STOP = frozenset("""a an and are as at be by each for from he her his in is it its more of on or per she so than that
the their them then there they this to total was were which who will with would altogether left now""".split())


class ConversionError(ValueError):
    """A solution that cannot be converted (no final answer, an annotation that is not arithmetic)."""


@dataclass(frozen=True)
class CodeTrace:
    """steps: the rStar step texts (code steps, then the final answer step); outputs: what each code
    step should print (the annotations' results, one per line), None for the final step."""

    steps: tuple[str, ...]
    outputs: tuple[str | None, ...]
    answer: str


def gsm8k_to_code_steps(solution: str, fmt: CodeStepFormat = RSTAR) -> CodeTrace:
    """Convert one GSM8K solution (with ``<<...>>`` annotations and a ``#### answer`` line)."""
    lines = solution_lines(solution)
    answer = final_answer(lines)
    steps, outputs, comments = [], [], []
    results: dict[str, str] = {}   # annotation result (normalised number) -> variable holding it
    used: set[str] = set()
    for line in lines[:-1]:
        annotations = list(ANNOTATION.finditer(line))
        comments.append(sentence(line))
        if not annotations:
            continue
        code, printed = [f"# {c}" for c in comments if c], []
        for match in annotations:
            expression, result = match.group(1).strip(), match.group(2).strip()
            name = _unique(_name_after(line, match.end(), result), used)
            code += [f"{name} = {_python_expression(expression, results)}", f"print({name})"]
            printed.append(result)
            number = _normal_number(result.replace(",", ""))
            if number is not None:
                results[number] = name
        steps.append(f"{fmt.code_open}\n" + "\n".join(code) + f"\n{fmt.code_close}")
        outputs.append("\n".join(printed))
        comments = []
    final = [c for c in comments if c] + [f"The answer is \\boxed{{{answer}}}."]
    steps.append("\n".join(final))
    outputs.append(None)
    if len(steps) == 1:
        raise ConversionError("no calculator annotation: nothing to compute in code")
    return CodeTrace(tuple(steps), tuple(outputs), answer)


def render_trace(steps: Sequence[str], outputs: Sequence[str | None], fmt: CodeStepFormat = RSTAR) -> str:
    """The assistant turn: each step with its output block, as the search shows a path to the policy."""
    return render_steps(list(zip(steps, outputs)), fmt).rstrip()


def solution_lines(solution: str) -> list[str]:
    """The solution's non-empty lines, stripped."""
    return [line.strip() for line in solution.strip().splitlines() if line.strip()]


def final_answer(lines: list[str]) -> str:
    """The answer of the closing ``#### ANSWER`` line, thousands separators removed."""
    if not lines or not lines[-1].startswith("####"):
        raise ConversionError("no '#### answer' line at the end")
    answer = lines[-1][4:].strip().replace(",", "")
    if not answer:
        raise ConversionError("empty final answer")
    return answer


def sentence(line: str) -> str:
    """The line as prose: annotations removed, whitespace collapsed."""
    return " ".join(ANNOTATION.sub("", line).split())


def _python_expression(expression: str, results: dict[str, str]) -> str:
    """The annotation's arithmetic as Python: thousands commas dropped, leading zeros removed,
    earlier results replaced by their variables; ConversionError if it is not plain arithmetic."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", expression).replace("x", "*").replace("×", "*")
    if not text.strip() or not _ARITHMETIC.match(text):
        raise ConversionError(f"annotation {expression!r} is not plain arithmetic")

    def number(match: re.Match) -> str:
        normal = _normal_number(match.group(0))
        return results.get(normal, normal)

    code = NUMBER.sub(number, text)
    code = re.sub(r"\s*([+\-*/%])\s*", r" \1 ", code).replace(" *  * ", " ** ").replace(" /  / ", " // ")
    code = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", " ".join(code.split())))
    code = re.sub(r"(^|[(*/%+\-] )- (?=[\d(a-z])", r"\1-", code)  # unary minus stays attached
    try:
        ast.parse(code, mode="eval")
    except SyntaxError:
        raise ConversionError(f"annotation {expression!r} is not valid arithmetic") from None
    return code


def _normal_number(text: str) -> str | None:
    """A number token without leading zeros or a trailing dot ('08' -> '8', '5.' -> '5', '.5' -> '0.5')."""
    if not NUMBER.fullmatch(text):
        return None
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0") or "0"
    return f"{whole}.{fraction}" if fraction else whole


def _name_after(line: str, end: int, result: str) -> str:
    """A variable name from the first plain word after the annotation's result."""
    rest = line[end:]
    if rest.startswith(result):
        rest = rest[len(result):]
    for word in _WORD.findall(rest)[:4]:
        word = word.lower()
        if len(word) >= 3 and word not in _STOP and not keyword.iskeyword(word) and word not in _BUILTINS:
            return word
    return "value"


def _unique(name: str, used: set[str]) -> str:
    candidate, i = name, 2
    while candidate in used:
        candidate, i = f"{name}_{i}", i + 1
    used.add(candidate)
    return candidate
