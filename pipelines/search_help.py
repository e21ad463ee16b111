"""Help text for ``--search`` / ``--search-param``, derived from the search registry
(``transforms.search.SEARCHES``): each search's config dataclass fields with types and defaults,
and its presets with their values and notes. Nothing here is written by hand, so it cannot go stale.
"""

from __future__ import annotations

import dataclasses
import inspect
import textwrap

from transforms.search import SEARCHES, SearchAlgorithm


def _type_name(field: dataclasses.Field) -> str:
    return field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))


def defaults(algorithm: SearchAlgorithm) -> str:
    """'n=4 temperature=0.7 ...': every config field with its default."""
    return " ".join(f"{f.name}={f.default}" for f in dataclasses.fields(algorithm.config_cls))


def overview() -> str:
    """One paragraph per search: summary, every parameter with its default, preset names."""
    lines = ["searches and their --search-param KEY=VALUE (defaults shown; --search-help NAME for details):"]
    for name, algorithm in SEARCHES.items():
        lines.append(f"  {name}: {algorithm.summary}")
        lines += textwrap.wrap(defaults(algorithm), width=100, initial_indent="      ", subsequent_indent="      ")
        if algorithm.presets:
            lines.append(f"      presets (preset=NAME): {', '.join(algorithm.presets)}")
    return "\n".join(lines)


def search_help(name: str) -> str:
    """One search in full: what its fields mean (the config's docstring), a table of every field's
    type and default, and each preset's values and note."""
    algorithm = SEARCHES[name]
    cls = algorithm.config_cls
    fields = dataclasses.fields(cls)
    width = max(len(f.name) for f in fields)
    lines = [f"--search {name}: {algorithm.summary}", "",
             textwrap.indent(inspect.cleandoc(cls.__doc__ or ""), "  "), "",
             f"parameters (--search-param KEY=VALUE), from {cls.__module__}.{cls.__name__}:"]
    lines += [f"  {f.name:<{width}}  {_type_name(f):<6} default {f.default}" for f in fields]
    if algorithm.presets:
        lines += ["", "presets (--search-param preset=NAME; other KEY=VALUE override them):"]
        for preset_name, preset in algorithm.presets.items():
            lines.append(f"  {preset_name}: " + " ".join(f"{k}={v}" for k, v in preset.params))
            lines += textwrap.wrap(preset.note, width=100, initial_indent="      ", subsequent_indent="      ")
    else:
        lines += ["", "presets: none"]
    return "\n".join(lines)
