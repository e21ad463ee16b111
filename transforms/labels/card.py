"""The README.md dataset card of an export: YAML ``configs`` so ``datasets.load_dataset(folder, NAME)``
works, how the data was made, counts, field docs from the Arrow schemas, and the plots."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa
import yaml

from schemas import field_docs, schema_tag


@dataclass(frozen=True)
class Config:
    name: str
    rows: int
    num_bytes: int  # Parquet bytes under data/<name>/
    schema: pa.Schema
    description: str


@dataclass(frozen=True)
class CardFacts:
    title: str
    configs: tuple[Config, ...]
    made: tuple[tuple[str, str], ...]  # (what, value) rows of "How it was made"
    label_options: dict
    counts: tuple[tuple[str, str], ...]
    plots: tuple[tuple[str, str], ...] = ()  # (caption, relative path)
    repo: str | None = None
    notes: tuple[str, ...] = field(default=())


def front_matter(configs: tuple[Config, ...]) -> str:
    """YAML header: one ``configs`` entry per exported config (only those with rows: datasets
    cannot build a split from files without rows), and ``dataset_info`` with rows and bytes.

    datasets caches a local folder by its name and this header, not by file contents; the sizes
    in ``dataset_info`` make a re-export with other data miss that cache (and the row counts are
    checked on load)."""
    exported = [c for c in configs if c.rows]
    entries = [{"config_name": c.name, **({"default": True} if i == 0 else {}),
                "data_files": [{"split": "train", "path": f"data/{c.name}/*.parquet"}]}
               for i, c in enumerate(exported)]
    # datasets' SplitInfo needs num_bytes too: without it, loading warns "splits field malformed".
    infos = [{"config_name": c.name, "splits": [{"name": "train", "num_bytes": c.num_bytes, "num_examples": c.rows}],
              "download_size": c.num_bytes, "dataset_size": c.num_bytes} for c in exported]
    header = {"pretty_name": "treemill process-supervision data",
              "tags": ["math", "process-supervision", "tree-search", "treemill"],
              "configs": entries, "dataset_info": infos}
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n"


def _cell(value) -> str:
    return str(value).replace("|", "\\|")  # a bare | would end the Markdown table cell


def _table(rows) -> list[str]:
    return ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in rows]


def _config_section(c: Config) -> list[str]:
    if not c.rows:
        return [f"### {c.name}", "", f"{c.description} **No rows in this export, so the config is not listed.**", ""]
    docs = field_docs(c.schema)
    lines = [f"### {c.name}", "", f"{c.description} {c.rows} rows, schema `{schema_tag(c.schema)}`.", "",
             "| field | type | description |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.type} | {_cell(docs[f.name])} |" for f in c.schema]
    return lines + [""]


def dataset_card(facts: CardFacts) -> str:
    where = facts.repo or "path/to/this/folder"
    names = [c.name for c in facts.configs if c.rows]
    lines = [
        front_matter(facts.configs), f"# {facts.title}", "",
        "Process-supervision data for math reasoning made by treemill from stored "
        "search trees: verified step trees (one row per node), step labels, preference pairs and SFT traces. "
        "Labels are derived from the stored trees, so relabelling never re-runs generation.", "",
        "## How it was made", "", *_table(facts.made), "",
        "Label options:", "", "```json", json.dumps(facts.label_options, indent=2, sort_keys=True), "```", "",
        "## Counts and accuracy", "", *_table(facts.counts), "",
        "## Loading", "", "```python", "from datasets import load_dataset", "",
        *[f'{name} = load_dataset("{where}", "{name}", split="train")' for name in names], "```", "",
        "TRL: `trl_stepwise` is stepwise supervision for `PRMTrainer` with float labels; PRMTrainer applies "
        "`int()` to every label, so 0.67 becomes 0 -- export with `--prm-threshold` to write 1.0/0.0 "
        "labels for it. `trl_preference` fits `DPOTrainer`/`RewardTrainer`; `trl_sft` is conversational "
        "for `SFTTrainer`.", "",
        *[f"- {note}" for note in facts.notes], *([""] if facts.notes else []),
        "## Configs", "", *[line for c in facts.configs for line in _config_section(c)],
    ]
    if facts.plots:
        lines += ["## Plots", ""] + [f"**{caption}**\n\n![{caption}]({path})\n" for caption, path in facts.plots]
    return "\n".join(lines).rstrip() + "\n"
