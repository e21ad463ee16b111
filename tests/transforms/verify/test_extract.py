"""Answer extraction: one test per method and per tricky rule (written from the rules)."""

from __future__ import annotations

import pytest

from transforms.verify import EXTRACTION_METHODS, extract_answer, gold_answer


@pytest.mark.parametrize(
    ("text", "answer", "method"),
    [
        ("So the result is \\boxed{42}.", "42", "boxed"),
        ("first \\boxed{1} then \\boxed{\\frac{a}{b}}", "\\frac{a}{b}", "boxed"),
        ("nested \\boxed{\\frac{\\sqrt{2}}{2}} done", "\\frac{\\sqrt{2}}{2}", "boxed"),
        ("set \\boxed{\\{1, 2\\}}", "\\{1, 2\\}", "boxed"),
        ("tex token \\boxed 7 ok", "7", "boxed"),
        ("\\fbox{12}", "12", "fbox"),
        ("$\\boxed{2}$ and $\\boxed{3}$", "2, 3", "boxed"),
        ("\\boxed{(1, 2)} \\quad \\text{and} \\quad \\boxed{(3, 4)}", "(1, 2), (3, 4)", "boxed"),
        ("guess \\boxed{5}. Actually, after checking, \\boxed{6}", "6", "boxed"),
        ("Natalia sold 48 clips.\n#### 72", "72", "hashes"),
        ("#### 1,234", "1,234", "hashes"),
        ("Therefore, the answer is 18.", "18", "answer_is"),
        ("The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}", "answer_is"),
        ("Final Answer:\n\nx = 5", "x = 5", "answer_is"),
        ("So the answer is $x = 1$ or $x = 2$, as expected.", "x = 1, x = 2", "answer_is"),
        ("The answer is $3$. Check: $3 + 1 = 4$.", "3", "answer_is"),
        ("Answer: 3.5 meters", "3.5 meters", "answer_is"),
        ("```python\nprint(7*6)\n```\n```output\n42\n```", "42", "code_output"),
        ("```output\nstep 1\n3/4\n```", "3/4", "code_output"),
        ("-\\frac{10}{9}", "-\\frac{10}{9}", "whole"),
        ("$1$ and $2$", "$1$ and $2$", "whole"),
        ("Hence we get $x < 5$ as the solution.", "x < 5", "math_span"),
        ("The matrix is \\[\\begin{pmatrix}1\\\\2\\end{pmatrix}\\] as claimed.", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "math_span"),
        ("She has 12 apples and buys 30 more, so 42 in total", "42", "last_number"),
        ("We subtract to get 10-3 which gives 7.", "7", "last_number"),
        ("temperature falls to -4 overnight", "-4", "last_number"),
        ("it costs 1,000.99 dollars overall", "1,000.99", "last_number"),
        ("the pair is 12,34 then", "34", "last_number"),
    ],
)
def test_extraction_methods(text, answer, method):
    assert extract_answer(text) == (answer, method)


def test_methods_are_declared():
    """Every method name the extractor returns is in the public list."""
    assert {"boxed", "fbox", "answer_is", "hashes", "code_output", "last_number"} <= set(EXTRACTION_METHODS)


@pytest.mark.parametrize("text", ["", "   ", None, "no numbers here at all", "AZYUK2A and BX7Q"])
def test_nothing_to_extract(text):
    assert extract_answer(text) == (None, None)


def test_number_glued_to_letters_is_not_a_number():
    """``2`` inside ``AZYUK2A`` is part of a word (math-verify's number extraction rule)."""
    assert extract_answer("code AZYUK2A is the key")[0] is None


def test_unclosed_box_is_ignored():
    """A truncated generation's ``\\boxed{12`` is no boxed answer."""
    answer, method = extract_answer("so \\boxed{12")
    assert method != "boxed"


def test_boxed_wins_over_later_text():
    text = "We find \\boxed{9}. Double-checking with 3 and 4 gives the same."
    assert extract_answer(text) == ("9", "boxed")


def test_gold_answer_unwraps_boxes_only():
    assert gold_answer("So \\[\\boxed{32349}\\]") == "32349"
    assert gold_answer("  x^2+1 ") == "x^2+1"
