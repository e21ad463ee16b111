"""Hypothesis strategies shaped like model outputs, shared by the fuzz tests and bench/verify_fuzz.py.

The pieces are what real solutions are made of (prose, ``$...$`` spans, boxes, ``####`` lines,
"The answer is", reasoning and answer tags, code output blocks), glued in random order and
truncated at random points, plus the LaTeX fragments that have made parsers misbehave.
"""

from __future__ import annotations

from hypothesis import strategies as st

ATOMS = ["x", "y", "2", "-3", "0.5", "\\pi", "e", "i", "10", "\\infty", "1,000", "7\\%", "n", "1,22", "30^\\circ",
         "\\text{cm}", "A", "(B)", "10m"]
WRAPS = [
    "\\frac{{{0}}}{{{1}}}", "\\sqrt{{{0}}}", "{0}^{{{1}}}", "({0}, {1})", "[{0}, {1})", "\\{{{0}, {1}\\}}",
    "{0} = {1}", "{0} + {1}", "{0}{1}", "\\left({0}\\right)", "\\boxed{{{0}}}", "{0} \\cup {1}",
    "\\begin{{pmatrix}}{0} & {1}\\end{{pmatrix}}", "\\text{{{0}}}", "{0} \\leq {1}", "\\sin({0})", "{0}!",
    "\\{{", "}}", "{0} \\\\ {1}", "$${0}$$", "{0} \\geq {1}", "\\left[\\begin{{array}}{{cc}}{0} & {1}\\end{{array}}\\right]",
    "{0}_{{{1}}}", "{0} \\text{{ or }} {1}",
]
PROSE = ["So", "the answer is", "The final answer is", "Answer:", "Therefore,", "we get", "which gives",
         "apples", "I hope it is correct.", "Let me check.", "\n", "\n\n", ".", ",", "and", "or", "(since", ")"]
MARKERS = ["\\boxed{", "\\fbox{", "}", "$", "$$", "\\(", "\\)", "\\[", "\\]", "#### ", "<think>", "</think>",
           "<answer>", "</answer>", "```output\n", "```", "**", "\\begin{align*}", "\\end{align*}", "&=", "\\\\"]

latex = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.builds(lambda w, a, b: w.format(a, b), st.sampled_from(WRAPS), inner, inner),
    max_leaves=8,
)
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
solution = st.lists(
    st.one_of(latex, st.sampled_from(PROSE), st.sampled_from(MARKERS), st.integers(-10**6, 10**6).map(str),
              st.builds(lambda a: f"$\\boxed{{{a}}}$", latex)),
    max_size=30,
).map(" ".join)
