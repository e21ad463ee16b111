"""Problem ingestion: read jsonl / parquet / an HF dataset, map fields, validate, de-duplicate.

Stages (each a small step with one job):
    ReadProblems   -> RawRecord(source, locator, payload)   one per input row, nothing skipped
    ValidateRecord -> problem dict (``schemas.PROBLEMS_V1``)  or a dead letter with the reason
    Deduplicate    -> the first row of each problem_id      later rows are dead letters
so ``read = accepted + dead-lettered`` always holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.verify.latex import last_boxed

FORMATS = ("jsonl", "parquet", "hf")
DEAD = "dead"
_METRICS = "treemill"


class IngestError(ValueError):
    """Input that cannot be read at all (no file, unknown format): reported as one clear line."""


@dataclass(frozen=True)
class FieldMapping:
    """Where a source row keeps the id, question and answer, and how to get the final answer.

    answer_rule: ``plain`` (the field is the answer), ``gsm8k`` (text after ``####``, thousands
    separators removed), ``last_boxed`` (content of the last ``\\boxed{}``/``\\fbox{}``, as MATH).
    """

    question_field: str = "question"
    answer_field: str = "answer"
    id_field: str | None = "id"
    answer_rule: str = "plain"

    def __post_init__(self) -> None:
        if self.answer_rule not in ANSWER_RULES:
            raise ValueError(f"unknown answer rule {self.answer_rule!r}; choose one of {', '.join(ANSWER_RULES)}")


@dataclass(frozen=True)
class RawRecord:
    source: str
    locator: tuple[str, int]  # (file or dataset, 0-based row index): orders duplicates deterministically
    payload: Any  # a line of text (jsonl) or a dict (parquet, hf)


def _gsm8k_answer(text: str) -> str | None:
    tail = text.rsplit("####", 1)[-1] if "####" in text else text
    answer = tail.strip().replace(",", "")
    return answer or None


def _plain_answer(text: str) -> str | None:
    return text.strip() or None


ANSWER_RULES = {"plain": _plain_answer, "gsm8k": _gsm8k_answer, "last_boxed": last_boxed}

PRESETS = {
    "gsm8k": FieldMapping("question", "answer", "id", "gsm8k"),
    "math": FieldMapping("problem", "solution", "unique_id", "last_boxed"),
    "generic": FieldMapping("question", "answer", "id", "plain"),
}


def _record_json(payload: Any) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str, ensure_ascii=False)
    return text[:10_000]


def dead_letter(stage: str, reason: str, record_id: str | None, payload: Any) -> dict:
    """A row of ``schemas.DEAD_LETTERS_V1``."""
    return {"stage": stage, "reason": reason, "record_id": record_id, "record": _record_json(payload)}


# ------------------------------------------------------------------------------------- reading


def match_files(patterns: str | Sequence[str]) -> list[str]:
    """Files matching one pattern or several (local or any Beam filesystem), sorted, each once;
    IngestError naming the first pattern that matches nothing."""
    files: set[str] = set()
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        try:
            results = FileSystems.match([pattern])[0].metadata_list
        except Exception as err:  # noqa: BLE001 - Beam raises several types for unreadable locations
            raise IngestError(f"cannot read input {pattern}: {err}") from None
        if not results:
            raise IngestError(f"no input file matches {pattern}")
        files.update(m.path for m in results)
    return sorted(files)


def detect_format(path: str) -> str:
    for suffix, fmt in ((".jsonl", "jsonl"), (".json", "jsonl"), (".parquet", "parquet")):
        if path.endswith(suffix):
            return fmt
    raise IngestError(f"cannot tell the format of {path!r}; pass --input-format jsonl|parquet|hf")


def read_file(path: str, fmt: str) -> Iterator[RawRecord]:
    """Every row of one file as a RawRecord (lines are parsed later so bad JSON is dead-lettered)."""
    if fmt == "jsonl":
        with FileSystems.open(path) as handle:
            for index, line in enumerate(handle):
                text = line.decode("utf-8", errors="replace").strip()
                if text:
                    yield RawRecord(path, (path, index), text)
                else:
                    yield RawRecord(path, (path, index), "")
        return
    import pyarrow.parquet as pq

    with FileSystems.open(path) as handle:
        index = 0
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                yield RawRecord(path, (path, index), row)
                index += 1


def read_hf(dataset_id: str, split: str, config: str | None) -> Iterator[RawRecord]:
    """Rows of a Hugging Face dataset (hub id or local folder) via ``datasets.load_dataset``."""
    import datasets

    try:
        data = datasets.load_dataset(dataset_id, config, split=split)
    except Exception as err:  # noqa: BLE001 - hub, network and format errors all mean "cannot read"
        raise IngestError(f"cannot load dataset {dataset_id!r} split {split!r}: {err}") from None
    source = f"{dataset_id}:{split}"
    for index, row in enumerate(data):
        yield RawRecord(source, (source, index), row)


def _single(path: str | Sequence[str]) -> str:
    if isinstance(path, str):
        return path
    if len(path) != 1:
        raise IngestError(f"--input-format hf reads one dataset, got {len(path)}: {', '.join(path)}")
    return path[0]


def _skip_blank_lines(record: RawRecord) -> bool:
    return record.payload != ""


class ReadProblems(beam.PTransform):
    """Read every row of the input. ``limit`` keeps the first N rows (read on the driver)."""

    def __init__(self, path: str | Sequence[str], fmt: str, hf_split: str = "train", hf_config: str | None = None,
                 limit: int | None = None):
        super().__init__()
        self.path, self.fmt, self.hf_split, self.hf_config, self.limit = path, fmt, hf_split, hf_config, limit

    def records_on_driver(self) -> list[RawRecord]:
        rows = read_hf(_single(self.path), self.hf_split, self.hf_config) if self.fmt == "hf" else (
            r for f in match_files(self.path) for r in read_file(f, self.fmt) if _skip_blank_lines(r))
        out = []
        for record in rows:
            if self.limit is not None and len(out) >= self.limit:
                break
            out.append(record)
        return out

    def expand(self, pbegin):
        if self.fmt == "hf" or self.limit is not None:
            return pbegin | "Rows" >> beam.Create(self.records_on_driver(), reshuffle=False)
        files = match_files(self.path)  # fail at construction time with a clear message
        return (pbegin | "Files" >> beam.Create(files)
                | "ReadRows" >> beam.FlatMap(read_file, self.fmt)
                | "SkipBlankLines" >> beam.Filter(_skip_blank_lines))


# ---------------------------------------------------------------------------------- validation


def problem_from_record(record: RawRecord, mapping: FieldMapping) -> dict:
    """Map a raw record to a problems/v1 row; raises ValueError with the reason if it is invalid."""
    row = record.payload
    if isinstance(row, str):
        try:
            row = json.loads(row)
        except json.JSONDecodeError as err:
            raise ValueError(f"invalid JSON: {err.msg} at column {err.colno}") from None
    if not isinstance(row, dict):
        raise ValueError(f"row is a {type(row).__name__}, not an object")
    question = _text_field(row, mapping.question_field, "question")
    raw_answer = _text_field(row, mapping.answer_field, "answer")
    gold = ANSWER_RULES[mapping.answer_rule](raw_answer)
    if not gold:
        raise ValueError(f"no final answer found in {mapping.answer_field!r} by rule {mapping.answer_rule}")
    problem_id = _problem_id(row, mapping, question)
    used = {mapping.question_field, mapping.answer_field, mapping.id_field}
    metadata = {k: v for k, v in row.items() if k not in used - {mapping.answer_field}}
    if mapping.answer_rule != "plain":
        metadata[mapping.answer_field] = raw_answer  # keep the worked solution for SFT/labels
    metadata["row"] = record.locator[1] + 1  # 1-based, like every row number a person reads
    return {"problem_id": problem_id, "source": record.source, "question": question, "gold_answer": gold,
            "metadata": json.dumps(metadata, default=str, ensure_ascii=False, sort_keys=True)}


def _text_field(row: dict, name: str, role: str) -> str:
    if name not in row or row[name] is None:
        raise ValueError(f"missing {role} field {name!r}")
    value = row[name]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{role} field {name!r} is a {type(value).__name__}, expected a string")
    text = str(value).strip()
    if not text:
        raise ValueError(f"empty {role} field {name!r}")
    return text


def _problem_id(row: dict, mapping: FieldMapping, question: str) -> str:
    if mapping.id_field and row.get(mapping.id_field) is not None:
        value = row[mapping.id_field]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"id field {mapping.id_field!r} is a {type(value).__name__}, expected a string")
        if str(value).strip():
            return str(value).strip()
    # No id: the question's content hash is stable across runs and files.
    return "q-" + hashlib.sha1(question.encode()).hexdigest()[:16]


class ValidateRecord(beam.DoFn):
    """Emit valid problems; tag invalid rows as dead letters with the reason."""

    def __init__(self, mapping: FieldMapping):
        self.mapping = mapping
        self.read = Metrics.counter(_METRICS, "problems_read")
        self.dead = Metrics.counter(_METRICS, "dead_letters_validate")

    def process(self, record: RawRecord):
        self.read.inc()
        try:
            yield problem_from_record(record, self.mapping)
        except ValueError as err:
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD, dead_letter("validate", str(err), f"{record.locator[0]}:{record.locator[1] + 1}", record.payload))


def _keep_first(keyed):
    """Of the rows sharing a problem_id, keep the earliest (by file, row); dead-letter the rest."""
    problem_id, rows = keyed
    rows = sorted(rows, key=lambda r: (r["source"], json.loads(r["metadata"])["row"]))
    yield rows[0]
    first = f"{rows[0]['source']} row {json.loads(rows[0]['metadata'])['row']}"
    for row in rows[1:]:
        Metrics.counter(_METRICS, "dead_letters_dedupe").inc()
        yield beam.pvalue.TaggedOutput(DEAD, dead_letter("dedupe", f"duplicate problem_id {problem_id!r} (first seen at {first})", problem_id, row))


class Deduplicate(beam.PTransform):
    def expand(self, problems):
        return (problems
                | "KeyById" >> beam.Map(lambda p: (p["problem_id"], p))
                | "GroupById" >> beam.GroupByKey()
                | "KeepFirst" >> beam.FlatMap(_keep_first).with_outputs(DEAD, main="problems"))


class IngestProblems(beam.PTransform):
    """read -> validate -> dedupe. Returns a dict: ``problems`` and ``dead`` PCollections."""

    def __init__(self, read: ReadProblems, mapping: FieldMapping):
        super().__init__()
        self.read, self.mapping = read, mapping

    def expand(self, pbegin):
        records = pbegin | "Read" >> self.read
        validated = records | "Validate" >> beam.ParDo(ValidateRecord(self.mapping)).with_outputs(DEAD, main="problems")
        deduped = validated.problems | "Dedupe" >> Deduplicate()
        dead = (validated[DEAD], deduped[DEAD]) | "IngestDeadLetters" >> beam.Flatten()
        return {"problems": deduped.problems, "dead": dead}
