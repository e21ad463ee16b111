"""The code-step text format: parsing, rendering, cumulative code, prompts."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.step_formats.code import (
    ALPHAMATH,
    PRESETS,
    RSTAR,
    CodeStepFormat,
    ParsedStep,
    build_prompt,
    cumulative_code,
    extract_answer,
    format_output,
    last_boxed,
    parse_step,
    render_step,
    render_steps,
)
from transforms.protocols import ExecutionResult

FENCE = "```"


def result(status="ok", stdout="", reason=None, truncated=False) -> ExecutionResult:
    return ExecutionResult(status, 0 if status == "ok" else 1, stdout, "", truncated, 0.01, reason)


class FakePolicy:
    model_id = "fake"

    def generate(self, requests):
        raise NotImplementedError

    def chat_prompt(self, question, system=None):
        return f"<sys>{system}</sys><user>{question}</user><assistant>"


# --- parsing: rStar ---------------------------------------------------------------------------


def test_rstar_code_step_parses_reasoning_code_and_no_answer():
    text = f"First multiply.\n{FENCE}python\n# 3 times 7\nx = 3 * 7\nprint(x)\n{FENCE}\n"
    step = parse_step(text, RSTAR, finish_reason="stop")
    assert step.ok and not step.is_final
    assert step.code == "# 3 times 7\nx = 3 * 7\nprint(x)"
    assert step.reasoning == "First multiply.\n3 times 7"
    assert step.answer is None
    assert step.text == text.rstrip()


def test_rstar_final_step_gives_the_boxed_answer():
    step = parse_step("So the answer is \\boxed{\\frac{1}{2}}.", RSTAR)
    assert step.is_final and step.code is None
    assert step.answer == "\\frac{1}{2}"


@pytest.mark.parametrize(
    ("text", "finish_reason", "error"),
    [
        (f"{FENCE}python\nx = 1\nprint(x)\n", "stop", "unclosed code block"),
        (f"{FENCE}python\nx = 1\nprint(", "length", "unclosed code block (generation hit max_tokens)"),
        (f"{FENCE}python\n\n{FENCE}", "stop", "empty code block"),
        (f"{FENCE}python\n# only a comment\n{FENCE}", "stop", "empty code block"),
        (f"{FENCE}python\nprint(1)\n{FENCE}\n{FENCE}python\nprint(2)\n{FENCE}", "stop", "more than one code block in one step"),
        ("I think we should factor it.", "stop", "no code block and no final answer"),
        (f"{FENCE}python\nprint(1)\n{FENCE}\nHence \\boxed{{1}}", "stop", "a step with code must not state the final answer before seeing its output"),
        ("", "stop", "no code block and no final answer"),
    ],
)
def test_malformed_steps_give_an_error_not_an_exception(text, finish_reason, error):
    step = parse_step(text, RSTAR, finish_reason=finish_reason)
    assert step.error == error
    assert not step.ok and not step.is_final


def test_a_hallucinated_output_block_is_dropped():
    text = f"{FENCE}python\nprint(2 + 2)\n{FENCE}\n{FENCE}output\n5\n{FENCE}\n"
    step = parse_step(text, RSTAR)
    assert step.ok and step.code == "print(2 + 2)"
    assert "output" not in step.text


def test_code_fence_language_is_case_insensitive():
    assert parse_step(f"{FENCE}Python\nprint(1)\n{FENCE}").code == "print(1)"


# --- parsing: AlphaMath -----------------------------------------------------------------------


def test_alphamath_code_step_closed_by_the_stop_string():
    text = "<step>\n<p>\nCompute the product.\n</p>\n<code>\nprint(3 * 7)\n"
    step = parse_step(text, ALPHAMATH, finish_reason="stop")
    assert step.ok and step.code == "print(3 * 7)"
    assert step.reasoning == "Compute the product."
    assert step.text.endswith("<code>\nprint(3 * 7)\n</code>")


def test_alphamath_code_step_cut_by_max_tokens_is_unclosed():
    step = parse_step("<step>\n<p>\nx\n</p>\n<code>\nprint(3 *", ALPHAMATH, finish_reason="length")
    assert step.error == "unclosed code block (generation hit max_tokens)"


def test_alphamath_markdown_fence_inside_code_tag_is_removed():
    step = parse_step(f"<step>\n<p>\nx\n</p>\n<code>\n{FENCE}python\nprint(1)\n{FENCE}\n</code>", ALPHAMATH)
    assert step.code == "print(1)"


def test_alphamath_final_answer():
    step = parse_step("<step>\n<p>\nThe product is 21.\nFinal Answer: $21$\n</p>\n", ALPHAMATH)
    assert step.is_final and step.answer == "21"
    assert step.text.endswith("</p>\n</step>")


def test_alphamath_falls_back_to_boxed():
    assert extract_answer("<p>so \\boxed{7}</p>", ALPHAMATH) == "7"


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("\\boxed{5}", "5"),
        ("a \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{a}{b^{2}}}", "\\frac{a}{b^{2}}"),
        ("\\boxed{unbalanced", None),
        ("no box", None),
    ],
)
def test_last_boxed(text, answer):
    assert last_boxed(text) == answer


@given(st.text(alphabet="abc{}\\ $", max_size=40))
def test_last_boxed_never_raises(text):
    last_boxed(text)


@given(st.text(max_size=200), st.sampled_from(sorted(PRESETS)), st.sampled_from(["stop", "length", None]))
def test_parse_step_never_raises_and_errors_are_consistent(text, preset, finish_reason):
    step = parse_step(text, PRESETS[preset], finish_reason=finish_reason)
    assert isinstance(step, ParsedStep)
    assert (step.error is None) == step.ok
    if step.ok:
        assert (step.code is None) != (step.answer is None)


# --- rendering --------------------------------------------------------------------------------


def test_render_rstar_path_round_trips_through_the_parser():
    code_step = parse_step(f"{FENCE}python\nx = 3 * 7\nprint(x)\n{FENCE}")
    final = parse_step("Therefore \\boxed{21}.")
    text = render_steps([(code_step, result(stdout="21\n")), (final, None)], RSTAR)
    assert text == f"{FENCE}python\nx = 3 * 7\nprint(x)\n{FENCE}\n{FENCE}output\n21\n{FENCE}\n\nTherefore \\boxed{{21}}.\n\n"


def test_render_alphamath_matches_super_mario_layout():
    step = parse_step("<step>\n<p>\nCompute.\n</p>\n<code>\nprint(3 * 7)\n", ALPHAMATH)
    final = parse_step("<step>\n<p>\nFinal Answer: 21\n</p>\n", ALPHAMATH)
    text = render_steps([(step, "21"), (final, None)], ALPHAMATH)
    assert text == (
        "<step>\n<p>\nCompute.\n</p>\n<code>\nprint(3 * 7)\n</code>\n<output>\n21\n</output>\n</step>\n"
        "<step>\n<p>\nFinal Answer: 21\n</p>\n</step>\n"
    )


def test_render_steps_of_an_empty_path_is_empty():
    assert render_steps([], RSTAR) == ""


def test_render_step_accepts_plain_strings():
    assert render_step("print(1)", "1", RSTAR) == f"print(1)\n{FENCE}output\n1\n{FENCE}"


def test_build_prompt_with_and_without_a_policy():
    steps = [(f"{FENCE}python\nprint(1)\n{FENCE}", "1")]
    plain = build_prompt("What is 1?", steps, ALPHAMATH)
    assert plain.startswith("<question> What is 1? </question>\n")
    chat = build_prompt("What is 1?", steps, RSTAR, policy=FakePolicy())
    assert chat.startswith(f"<sys>{RSTAR.instructions}</sys><user>What is 1?</user><assistant>")
    assert chat.endswith(f"{FENCE}output\n1\n{FENCE}\n\n")


# --- execution output -------------------------------------------------------------------------


def test_format_output_ok_error_timeout_and_truncation():
    assert format_output(result(stdout="21\n")) == "21"
    assert format_output(result("error", "partial\n", "NameError: name 'y' is not defined")) == (
        "partial\nNameError: name 'y' is not defined"
    )
    assert format_output(result("timeout", reason="wall-clock limit of 2 s exceeded")).startswith("TimeoutError:")
    assert format_output(result("killed", reason="killed by signal SIGSEGV")) == "killed: killed by signal SIGSEGV"
    assert format_output(result(stdout="x", truncated=True)).endswith("(output truncated)")
    small = dataclasses.replace(RSTAR, max_output_chars=21)
    shortened = format_output(result(stdout="a" * 50 + "b" * 50), small)
    assert shortened.startswith("a" * 8) and shortened.endswith("b" * 8) and "\n...\n" in shortened


# --- cumulative code --------------------------------------------------------------------------


def test_cumulative_code_joins_steps_and_silences_earlier_output():
    steps = [parse_step(f"{FENCE}python\nx = 2\nprint(x)\n{FENCE}"), "y = x + 1\nprint(y)"]
    program = cumulative_code(steps)
    assert program.index("x = 2") < program.index("_treemill_sys.stdout = _treemill_sys.__stdout__") < program.index("y = x + 1")
    assert cumulative_code(steps, silence_earlier=False) == "x = 2\nprint(x)\ny = x + 1\nprint(y)"


def test_cumulative_code_skips_steps_without_code():
    bad = parse_step("no code here")
    final = parse_step("\\boxed{3}")
    assert cumulative_code([bad, "print(3)", final]) == "print(3)"
    assert cumulative_code([]) == ""


# --- the format object ------------------------------------------------------------------------


def test_presets_and_validation():
    assert RSTAR.stop == ("```output",)
    assert "</code>" in ALPHAMATH.stop and "</step>" in ALPHAMATH.stop
    with pytest.raises(dataclasses.FrozenInstanceError):
        RSTAR.name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        CodeStepFormat("bad", "<c>", "</c>", "<o>", "</o>", ("</c>",), answer="guess")
