"""Find the final answer in a model's step or solution.

Methods, strongest first (the first that finds something wins):

* ``boxed`` / ``fbox``: the last ``\\boxed{...}`` or ``\\fbox{...}`` (MATH, Minerva, math-verify);
  boxes separated only by ``and``/commas/``\\quad`` form one multi-answer, as math-verify reads
  ``\\boxed{(98, 2)} \\text{ and } \\boxed{(99, 503)}``.
* ``hashes``: ``#### 42`` (GSM8K reference format).
* ``answer_tag``: the last ``<answer>...</answer>`` (R1-style prompts), read again by these rules.
* ``answer_is``: "The answer is ...", "Final Answer: ..." (Minerva / lm-eval "answer is" prompts).
* ``code_output``: the last line printed in the last `````output`` block (ToRA / NuminaMath-TIR
  code steps).
* ``whole``: the text is itself a bare answer (``-10/9``, ``$1$ and $2$``, ``08:34 \\text{P.M.}``).
* ``math_span``: the last ``$...$`` / ``\\(...\\)`` / ``\\[...\\]`` (math-verify's LaTeX fallback).
* ``last_number``: the last number not glued to a word (``2`` is not in ``AZYUK2A``).
"""

from __future__ import annotations

import re

from transforms.verify.latex import brace_pairs, replace_command_groups

METHODS = ("boxed", "fbox", "hashes", "answer_tag", "answer_is", "code_output", "whole", "math_span", "last_number")

_BOX = re.compile(r"\\(boxed|fbox)(?![a-zA-Z])\s*")
_BOX_CONNECTOR = re.compile(
    r"^(?:\s|[,;$]|\b[a-zA-Z]\s*=|\\quad|\\qquad|\\[,;:! ]|\\text\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b|\\[()\[\]])*$"
)
_HASHES = re.compile(r"####\s*([^\n]+)")
_ANSWER_IS = re.compile(
    r"(?:\banswer[ \t]*(?:is|:|=|：)|^[ \t*#_]*(?:final[ \t]+)?answer\b)[ \t*_:]*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_OUTPUT_BLOCK = re.compile(r"```output[ \t]*\n(.*?)(?:```|$)", re.DOTALL)
# Spans are bounded (2000 characters) so that many unclosed "\(" cannot make the search quadratic.
_MATH_SPAN = re.compile(
    r"(?<!\\)\$\$(.{1,2000}?)(?<!\\)\$\$|(?<!\\)\$(.{1,2000}?)(?<!\\)\$|\\\((.{1,2000}?)\\\)|\\\[(.{1,2000}?)\\\]",
    re.DOTALL,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z\d.])(?:(?<![\w)])-)?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:/\d+)?|\.\d+)"
)
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])|\.\s*$")  # "5. I hope": a decimal point has no space after it
# Where an answer phrase turns into an explanation: "5 (since 2+3=5)", "5, because ...".
_ASIDE = re.compile(r"\s+\((?=(?:since|because|as|from|which|the|this|we|i\.e|e\.g)\b)|,?\s+(?:since|because|as)\s+", re.IGNORECASE)
_ANSWER_TAG = re.compile(r"<answer>(.{0,2000}?)</answer>", re.DOTALL | re.IGNORECASE)
# Words a bare answer may contain besides LaTeX commands: connectors, functions, time markers.
_BARE_WORDS = {"and", "or", "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "sqrt",
               "frac", "pi", "inf", "infty", "mod", "pmod", "p.m", "a.m"}
_MAX_BARE_LEN = 160
_MAX_BARE_GOLD_LEN = 400
_CODE_LIKE = re.compile(r"[A-Za-z]\d+[A-Za-z]")  # "AZYUK2A" is a code, not "10m" or "2x"
_MAX_PROSE_WORDS = 2  # "10 apples", "Monday", "east": a few words can be the answer itself
_SENTENCE = re.compile(r"[a-z]{2,}[.!?:]\s+[A-Z]|\b(?:is|are|so|thus|therefore|we|the)\s+[a-z]", re.IGNORECASE)
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}(?:\{[^{}]*\})?")
_NOT_BARE = re.compile(r"#|```|\\boxed|\\fbox")  # markers a finder above would have used


def extract_answer(text: str | None) -> tuple[str | None, str | None]:
    """Return ``(answer, method)`` for the final answer in ``text``, or ``(None, None)``.

    The answer is the raw substring (outer whitespace and trailing periods removed); normalization
    happens in ``normalize``.
    """
    if not text or not text.strip():
        return None, None
    text = text.replace("−", "-")  # a Unicode minus would hide the sign from the number finder
    reasoning_end = text.rfind("</think>")
    if reasoning_end >= 0 and text[reasoning_end + 8 :].strip():
        text = text[reasoning_end + 8 :]  # the answer follows the reasoning block (R1-style models)
    for finder in (_find_boxed, _find_hashes, _find_answer_tag, _find_answer_is, _find_code_output, _find_whole,
                   _find_math_span, _find_last_number):
        found = finder(text)
        if found is not None and found[0].strip():
            return _tidy(found[0]), found[1]
    return None, None


def gold_answer(gold: str) -> str:
    """The answer inside a gold string, which may be a bare answer or a reference solution.

    A box, ``#### x``, an answer tag or "The answer is" marks the answer of a solution (MATH,
    GSM8K); a bare answer is itself
    (``1,000``, ``x = 2``, ``\\text{Monday}``); a longer text goes through ``extract_answer``, and
    what nothing finds is compared as written.
    """
    for finder in (_find_boxed, _find_hashes, _find_answer_tag, _find_answer_is):
        found = finder(gold)
        if found is not None and found[0].strip():
            return _tidy(found[0])
    stripped = gold.strip()
    if len(stripped) <= _MAX_BARE_GOLD_LEN and "\n\n" not in stripped and _SENTENCE.search(stripped) is None:
        return stripped  # a reference answer, however wordy (matrices, \text{...}, cases)
    answer, _ = extract_answer(gold)
    return answer if answer is not None else gold.strip()


def _tidy(answer: str) -> str:
    """Trim whitespace and sentence-final punctuation, keeping a decimal point inside numbers."""
    return answer.strip().rstrip(" \t\n.,;:") or answer.strip()


def _find_boxed(text: str) -> tuple[str, str] | None:
    """Last ``\\boxed``/``\\fbox`` argument; adjacent boxes joined by connectors are one answer."""
    boxes: list[tuple[int, int, str, str]] = []  # (start, end, content, command)
    closing = brace_pairs(text) if "\\boxed" in text or "\\fbox" in text else {}
    for m in _BOX.finditer(text):
        if m.end() < len(text) and text[m.end()] == "{":
            end = closing.get(m.end())
            if end is None:
                continue  # truncated generation: an unclosed box is no answer
            boxes.append((m.start(), end + 1, text[m.end() + 1 : end], m.group(1)))
        else:
            arg = re.match(r"[^\s$]+", text[m.end() :])  # "\boxed 5" (TeX allows one token)
            if arg is not None:
                boxes.append((m.start(), m.end() + arg.end(), arg.group(0), m.group(1)))
    if not boxes:
        return None
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if _BOX_CONNECTOR.match(text[box[1] : group[0][0]]) is None:
            break
        group.insert(0, box)
    return ", ".join(b[2] for b in group), group[-1][3]


def _find_hashes(text: str) -> tuple[str, str] | None:
    """The text after the last ``####`` on its line."""
    matches = _HASHES.findall(text)
    return (matches[-1], "hashes") if matches else None


def _find_answer_is(text: str) -> tuple[str, str] | None:
    """The phrase after the last "answer is"/"Answer:"; its first math span if it has one."""
    matches = list(_ANSWER_IS.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    tail = m.group(1).strip()
    if not tail:  # "Final Answer:" with the answer on the next non-empty line
        rest = [line for line in text[m.end() :].splitlines() if line.strip()]
        tail = rest[0].strip() if rest else ""
    spans = list(_MATH_SPAN.finditer(tail))
    if spans:
        return _joined_spans(tail, spans), "answer_is"
    tail = _ASIDE.split(tail.replace("**", ""), 1)[0]
    end = _SENTENCE_END.search(tail)
    return (tail[: end.start()] if end else tail).rstrip("!"), "answer_is"  # prose "!", not 5!


def _joined_spans(text: str, spans: list[re.Match]) -> str:
    """The first math span, plus the ones after it that only connectors separate
    ("$x = 1$ or $x = 2$" is one answer with two values)."""
    contents = [next(g for g in spans[0].groups() if g is not None)]
    for before, span in zip(spans, spans[1:]):
        if _BOX_CONNECTOR.match(text[before.end() : span.start()]) is None:
            break
        contents.append(next(g for g in span.groups() if g is not None))
    return ", ".join(contents)


def _find_code_output(text: str) -> tuple[str, str] | None:
    """Last non-empty line of the last ```output block (what the code step printed)."""
    blocks = _OUTPUT_BLOCK.findall(text)
    if not blocks:
        return None
    lines = [line.strip() for line in blocks[-1].splitlines() if line.strip()]
    return (lines[-1], "code_output") if lines else None


def _find_whole(text: str) -> tuple[str, str] | None:
    """The whole text when it already is an answer: short, no sentences, and at most a couple of
    words, either trailing a value (``10 apples``, ``8:34 p.m.``) or being the answer
    (``Monday``, ``no solution``). Leading prose (``Solving gives $x = 3$``) is not an answer."""
    stripped = text.strip()
    if len(stripped) > _MAX_BARE_LEN or "\n\n" in stripped or _NOT_BARE.search(stripped):
        return None
    no_text = replace_command_groups(stripped, r"\\(?:text|textbf|mathrm|mbox)", keep_content=False)
    no_commands = re.sub(r"\\[a-zA-Z]+", " ", _ENVIRONMENT.sub(" ", no_text)).strip()
    words = [w for w in re.findall(r"[A-Za-z]{2,}", no_commands) if w.lower() not in _BARE_WORDS]
    if (len(words) > _MAX_PROSE_WORDS or _CODE_LIKE.search(no_commands) or _SENTENCE.search(stripped)
            or re.search(r"[.!?]\s+[A-Za-z]", no_commands)):
        return None
    only_words = re.fullmatch(r"[A-Za-z][A-Za-z ,'-]*", no_commands) is not None
    first = re.match(r"([A-Za-z]+)'?[a-z]*(\s+[A-Za-z]{2,})?", no_commands)
    if (words and not only_words and first is not None and first.group(1).lower() not in _BARE_WORDS
            and (len(first.group(1)) > 1 or first.group(2))):
        return None  # prose before the math: "Solving gives $x = 3$", "I think it's 6"
    return stripped, "whole"


def _find_math_span(text: str) -> tuple[str, str] | None:
    """Content of the last inline or display math span, with the spans before it that only
    connectors separate ("$x = -1$ and $x = 1$" is one answer with two values)."""
    spans = list(_MATH_SPAN.finditer(text))
    if not spans:
        return None
    first = len(spans) - 1
    while first > 0 and _BOX_CONNECTOR.match(text[spans[first - 1].end() : spans[first].start()]) is not None:
        first -= 1
    return _joined_spans(text, spans[first:]), "math_span"


def _find_answer_tag(text: str) -> tuple[str, str] | None:
    """The last ``<answer>...</answer>``, with its own answer extracted (it may hold a box or prose)."""
    tags = _ANSWER_TAG.findall(text)
    if not tags or not tags[-1].strip() or "<answer>" in tags[-1].lower():
        return None
    answer, _ = extract_answer(tags[-1])
    return (answer, "answer_tag") if answer else None


def _find_last_number(text: str) -> tuple[str, str] | None:
    """The last number in the text; a sign only when it is not a subtraction."""
    numbers = _NUMBER.findall(text)
    return (numbers[-1], "last_number") if numbers else None
