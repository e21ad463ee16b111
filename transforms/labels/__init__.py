"""Labels, preference pairs and SFT selections derived from STORED trees (no new generation).

    outcomes.py  one bottom-up pass: completions, correct ones, distances below each node
    values.py    per-step labels: terminal Q (rStar-Math / AlphaMath), Math-Shepherd, ReST-MCTS*
    traces.py    complete traces and the rStar-Math SFT selection
    pairs.py     rStar-Math PPM pairs, sibling step pairs, full-solution pairs
    label.py     one tree -> steps/pairs/sft rows (used by pipelines.label)
    budget.py    pass@k and majority@k from best-of-N leaves
    trl.py       TRL-ready tables; card.py and plots.py for pipelines.export
"""

from transforms.labels.label import LABEL_FUNCTIONS, LabelError, Labelled, Provenance, label_rows, label_tree
from transforms.labels.options import LabelOptions, PpmOptions, SftOptions, SiblingOptions, SolutionOptions, StepOptions

__all__ = ["LABEL_FUNCTIONS", "LabelError", "Labelled", "Provenance", "label_rows", "label_tree", "LabelOptions",
           "PpmOptions", "SftOptions", "SiblingOptions", "SolutionOptions", "StepOptions"]
