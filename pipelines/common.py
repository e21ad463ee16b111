"""Driver-side helpers shared by pipelines: the command line (unknown options are errors, not
dropped), quiet consoles with a log file, errors, metrics, manifests, code version, empty shards."""

from __future__ import annotations

import argparse
import difflib
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from schemas import MANIFEST_V1
from transforms.io.shards import shard_name, write_table


class UsageError(Exception):
    """A problem with the user's arguments or input: printed as one line, exit status 2."""


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def counters(result, namespace: str = "treemill") -> dict[str, int]:
    """Final values of the pipeline's counters in ``namespace``."""
    values: dict[str, int] = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        values[counter.key.metric.name] = values.get(counter.key.metric.name, 0) + int(value or 0)
    return values


def code_version() -> str:
    """treemill's version plus the git commit of the checkout, when there is one."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = f"treemill {version('treemill')}"
    except PackageNotFoundError:
        text = "treemill (not installed)"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        text += f" @ {commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    return text


NESTED_MANIFEST_FIELDS = ("config", "counts", "metrics")  # objects in manifest.json, JSON text in the Parquet row


def write_manifest(output: str, row: dict) -> None:
    """The run manifest as Parquet (schema ``manifest/v1``, ``config`` and ``counts`` as JSON text)
    and as manifest.json for people and programs (those two as nested objects)."""
    row = {**row, "created_at": datetime.now(timezone.utc), "code_version": code_version()}
    flat = {k: json.dumps(v, sort_keys=True, default=str) if k in NESTED_MANIFEST_FIELDS and not isinstance(v, str) else v
            for k, v in row.items()}
    write_table(pa.Table.from_pylist([flat], schema=MANIFEST_V1),
                FileSystems.join(output, "manifest", shard_name("manifest", 0, 1)))
    nested = {k: json.loads(v) if k in NESTED_MANIFEST_FIELDS and isinstance(v, str) else v for k, v in row.items()}
    with FileSystems.create(FileSystems.join(output, "manifest.json")) as handle:
        handle.write(json.dumps({**nested, "created_at": row["created_at"].isoformat()}, indent=2,
                                sort_keys=False, default=str).encode())


# ----------------------------------------------------------------------------------- command line


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises UsageError (printed as one 'error:' line) instead of printing usage."""

    def error(self, message: str):
        raise UsageError(message)


def beam_option_parser() -> argparse.ArgumentParser:
    """The parser Beam itself builds from every registered PipelineOptions class (runner, Dataflow,
    Flink, ...), obtained through get_all_options' public hook."""
    captured: list[argparse.ArgumentParser] = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=captured.append)
    return captured[0]


def option_names(parser: argparse.ArgumentParser) -> list[str]:
    return [name for action in parser._actions for name in action.option_strings if name.startswith("--")]


def unknown_argument_message(unknown: str, known: list[str]) -> str:
    """'unknown option --serch (did you mean --search?)' for an option; a stray value says so."""
    if not unknown.startswith("-"):
        return f"unexpected argument {unknown!r} (a value without an option; quote globs such as --input 'data/*.jsonl')"
    name = unknown.split("=", 1)[0]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")


def parse_pipeline_args(parser: argparse.ArgumentParser, argv=None, beam: bool = True):
    """Parse ``argv`` with ``parser``; options Beam knows are returned for PipelineOptions.

    Returns (args, beam_args). Anything neither parser knows raises UsageError with the closest
    known option: Beam itself would drop it with a warning and run with the defaults.
    """
    args, rest = parser.parse_known_args(argv)
    known = option_names(parser)
    if beam:
        beam_parser = beam_option_parser()
        _, unknown = beam_parser.parse_known_args(rest)
        known += option_names(beam_parser)
    else:
        unknown = rest
    if unknown:
        raise UsageError(unknown_argument_message(unknown[0], known))
    return args, rest if beam else []


def python_command() -> str:
    """How to run this Python again from the current folder: ``.venv/bin/python`` in the project."""
    exe = Path(sys.executable)
    try:
        return str(exe.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(exe) if exe.is_absolute() else "python"


# ---------------------------------------------------------------------------------------- logging

LOG_FOLDER = "logs"


def log_path(output: str, pipeline: str) -> Path:
    """Where a run's library output goes: <output>/logs/<pipeline>.log (a temp file for a remote output)."""
    if "://" in output:
        return Path(tempfile.mkdtemp(prefix="treemill-logs-")) / f"{pipeline}.log"
    return Path(output) / LOG_FOLDER / f"{pipeline}.log"


class _ConsoleSplitter(io.TextIOBase):
    """sys.stderr while quiet: treemill's own lines ('[treemill ...') reach the terminal, anything
    else a library writes (tqdm bars, warnings) goes to the log."""

    def __init__(self, console, log):
        self.console, self.log, self.pending = console, log, ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.console.isatty()

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = re.split(r"(?<=[\n\r])", self.pending)
        for line in lines:
            target = self.console if line.startswith("[treemill") else self.log
            # An object that kept this stream past the quiet run (a long-lived DoFn's progress
            # line) still writes somewhere sensible: the real stderr, once ours are closed.
            (sys.__stderr__ if target.closed else target).write(line)
        return len(text)

    def flush(self) -> None:
        for stream in (self.console, self.log):
            if not stream.closed:
                stream.flush()


@contextmanager
def quiet_console(log_file: Path, verbose: bool = False):
    """Send library logging, Python warnings and everything written to file descriptors 1 and 2
    (vLLM, torch's C++ warnings, Beam) to ``log_file``; treemill's progress lines still reach the
    terminal. ``verbose`` leaves the console alone and logs at INFO there instead.
    """
    root = logging.getLogger()
    held = _held_import_records(root)
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True)
        for record in held:
            root.handle(record)
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds, saved_streams, saved_handlers = (os.dup(1), os.dup(2)), (sys.stdout, sys.stderr), root.handlers[:]
    saved_level = root.level
    with open(log_file, "a", buffering=1, encoding="utf-8") as log, \
            os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", closefd=True) as console:
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        for record in held:
            handler.handle(record)
        logging.captureWarnings(True)
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        # A stream on fd 1 itself (not the log file object): a library that keeps sys.stdout (vLLM's
        # log handler) writes to the log now and to the real stdout after the run, never to a closed file.
        stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)
        sys.stdout, sys.stderr = stdout, _ConsoleSplitter(console, log)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
            logging.captureWarnings(False)
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)


def _held_import_records(root: logging.Logger) -> list[logging.LogRecord]:
    """Take the records pipelines/__init__.py held while libraries imported; detach its handler."""
    from pipelines import IMPORT_LOG

    if IMPORT_LOG not in root.handlers:
        return []
    root.removeHandler(IMPORT_LOG)
    held, IMPORT_LOG.buffer = IMPORT_LOG.buffer, []
    return held


def stage(message: str) -> None:
    """One progress line for a pipeline stage (reaches the terminal also while quiet)."""
    print(f"[treemill] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ empty shards


def ensure_shard(folder: str, prefix: str, schema: pa.Schema) -> None:
    """Write an empty shard when a run produced no rows, so the table (and its query view) exists."""
    if not FileSystems.match([FileSystems.join(folder, f"{prefix}-*-of-*.parquet")])[0].metadata_list:
        write_table(schema.empty_table(), FileSystems.join(folder, shard_name(prefix, 0, 1)))
