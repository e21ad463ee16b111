"""What a scorer folder says about itself: ``treemill_scorer`` in its config.json (read back by
``transforms.scorer``'s ``ScorerSpec.for_folder``), so ``--scorer-model OUT`` needs no other flag."""

from __future__ import annotations

from transforms.scorer.spec import ACTIVATIONS, FOLDER_KEY, TEMPLATES

KINDS = ("ppm", "prm", "value")


def declare_scorer(model, kind: str, *, activation: str, template: str, **extra) -> None:
    """Record on ``model.config`` what the scorer is and how its head output becomes a score."""
    if kind not in KINDS or activation not in ACTIVATIONS or template not in TEMPLATES:
        raise ValueError(f"bad scorer declaration: {kind}, {activation}, {template}")
    setattr(model.config, FOLDER_KEY, {"kind": kind, "activation": activation, "template": template, **extra})
