"""GSM8K solutions -> prose steps in the text step format, deterministically.

The text counterpart of ``gsm8k_code``: round 0 of a text-step run (``evolve --bootstrap FILE`` without a
code format) fine-tunes the policy on human solutions written the way the search writes a path, as
rStar-Math's round 0 fine-tunes on a stronger model's traces (Guan et al. 2025, Sec. 3.1) and as
AlphaMath / ReST-MCTS* start from an SFT'd policy:

* each line of the solution is one step; its calculator annotations (``<<48/2=24>>``) are removed,
  the sentence itself keeps its arithmetic (``Natalia sold 48/2 = 24 clips in May.``);
* steps are separated by a blank line, as ``DEFAULT_SYSTEM_PROMPT`` asks and the text search stops
  each step (``transforms.step_formats.text``);
* the ``#### ANSWER`` line becomes the final step ``The answer is \\boxed{ANSWER}.``
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.bootstrap.gsm8k_code import ConversionError, final_answer, solution_lines, sentence

STEP_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class TextTrace:
    """steps: the prose steps, the last one stating the answer as ``\\boxed{answer}``."""

    steps: tuple[str, ...]
    answer: str

    def render(self) -> str:
        """The assistant turn: the steps as the search joins a path."""
        return STEP_SEPARATOR.join(self.steps)


def gsm8k_to_text_steps(solution: str) -> TextTrace:
    """Convert one GSM8K solution (``#### answer`` on its last line) into prose steps."""
    lines = solution_lines(solution)
    answer = final_answer(lines)
    steps = [s for s in (sentence(line) for line in lines[:-1]) if s]
    if not steps:
        raise ConversionError("no solution steps before the '#### answer' line")
    return TextTrace(tuple(steps) + (f"The answer is \\boxed{{{answer}}}.",), answer)
