"""The model card a trainer writes next to its weights: base model, data (run ids, file hashes),
config, validation metrics per epoch, and how to use the folder in the next round."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from trainers.common.data import Provenance

USAGE = {
    "sft": "python -m pipelines.generate --model {out} ...",
    "ppm": "python -m pipelines.generate --search mcts-rstar --search-param preset=rstar-ppm --scorer-model {out} ...",
    "prm": "python -m pipelines.generate --search rest-mcts --scorer-model {out} ...   (or sbs)",
    "value": "python -m pipelines.generate --model {out}/policy --search mcts-alphamath "
             "--search-param preset=alphamath-value --scorer-model {out} ...",
}


@dataclass(frozen=True)
class CardFacts:
    kind: str
    title: str
    base_model: str
    base_path: str
    config: dict
    provenance: Provenance
    counts: dict
    validation: list[dict]
    notes: tuple[str, ...] = ()


def model_card(facts: CardFacts, out: Path) -> str:
    header = {"library_name": "transformers", "tags": ["treemill", facts.kind],
              "base_model": facts.base_model if facts.base_model != "default" else "HuggingFaceTB/SmolLM2-135M-Instruct"}
    prov = facts.provenance
    lines = ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", "", f"# {facts.title}", "",
             f"Trained by `python -m trainers.{facts.kind}` (treemill).", "",
             "## Use", "", "```bash", USAGE[facts.kind].format(out=out), "```", "",
             "## Base model", "", f"- `{facts.base_model}` (loaded from `{facts.base_path}`)", "",
             "## Data", "", f"- folder: `{prov.data}`",
             f"- generate run ids: {', '.join(sorted(prov.run_ids)) or 'n/a'}",
             f"- label run ids: {', '.join(sorted(prov.label_run_ids)) or 'n/a'}", "",
             "| file | sha256 |", "|---|---|", *(f"| `{path}` | `{digest}` |" for path, digest in prov.files), "",
             "| count | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in facts.counts.items()), "",
             "## Validation (held-out problems, each epoch)", ""]
    if facts.validation:
        keys = sorted({k for row in facts.validation for k in row if k not in ("epoch", "step")})
        lines += ["| epoch | step | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
        lines += [f"| {row.get('epoch')} | {row.get('step')} | " + " | ".join(str(row.get(k, "")) for k in keys) + " |"
                  for row in facts.validation]
    else:
        lines.append("No validation set (val_fraction = 0 or a single problem).")
    lines += ["", *(f"- {note}" for note in facts.notes), "", "## Config", "", "```json",
              json.dumps(facts.config, indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def write_card(facts: CardFacts, out: Path) -> Path:
    path = out / "README.md"
    path.write_text(model_card(facts, out))
    (out / "treemill_training.json").write_text(json.dumps(
        {"kind": facts.kind, "base_model": facts.base_model, "config": facts.config, "counts": facts.counts,
         "validation": facts.validation, "run_ids": sorted(facts.provenance.run_ids),
         "label_run_ids": sorted(facts.provenance.label_run_ids), "files": facts.provenance.files},
        indent=2, sort_keys=True))
    return path
