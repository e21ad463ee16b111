"""What every search algorithm shares: the calls it may yield, its environment, and helpers.

An algorithm is a generator function ``search(tree, config, env)``. Whenever it needs the model it
*yields* a call (``Generate``, ``Score`` or ``Execute``) and receives the results in order. It never
calls the engine itself: the scheduler (``transforms.search.scheduler``) advances many trees at once
and batches their calls: the lock-step ``Scheduler`` merges all pending calls of a round into one engine
call; the ``ContinuousScheduler`` (``transforms.search.continuous``) submits each tree's requests as they
arise and resumes a tree as soon as its own results are back. ``Submit``/``Await`` let one tree have
several generations in flight. A tree's calls and their results never depend on other trees or on
timing (per-request seeds, ``SearchEnv.seed_for``), so both schedulers grow the same trees.
Verification is synchronous (``env.verify``): the verifier is fast and runs slow checks in its own pool.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Generator, Sequence, Union

from transforms.step_formats.code import CodeStepFormat
from transforms.protocols import Executor, GenerationRequest, SamplingSpec, ScoreRequest, Sample, Verifier
from transforms.search import code_mode
from transforms.search.endings import EMPTY_STEP, LENGTH, NO_ANSWER, end_branch
from transforms.search.tree import Node, Tree
from transforms.step_formats.text import STEP_SEPARATOR, split_sample
from transforms.verify.latex import last_boxed

DEFAULT_SYSTEM_PROMPT = (
    "Solve the math problem step by step. Separate the steps with a blank line. "
    "End with the final answer written as \\boxed{answer}."
)


@dataclass(frozen=True)
class Generate:
    requests: tuple[GenerationRequest, ...]


@dataclass(frozen=True)
class Score:
    requests: tuple[ScoreRequest, ...]


@dataclass(frozen=True)
class Execute:
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Submit:
    """Start a ``Generate`` without waiting for it: the search receives a handle (an int) at once and
    later yields ``Await(handle)`` for the results. Lets one tree keep several selections in flight
    (virtual loss, ``transforms.search.inflight``); a tree must await every handle it submits."""

    generate: Generate


@dataclass(frozen=True)
class Await:
    """Wait for the results of an earlier ``Submit`` (the generations of its requests, in order)."""

    handle: int


Call = Union[Generate, Score, Execute, Submit, Await]
SearchGenerator = Generator[Call, list, None]


@dataclass
class SearchEnv:
    """Per-tree services an algorithm may use synchronously, and the budget it is held to."""

    chat_prompt: Callable[[str], str]
    verifier: Verifier
    seed: int = 0
    max_tokens_per_problem: int | None = None
    generated_tokens: int = 0
    has_scorer: bool = False
    step_format: CodeStepFormat | None = None  # set: code-augmented steps (transforms.search.code_mode)
    executor: Executor | None = None

    def __post_init__(self) -> None:
        if self.step_format is not None and self.executor is None:
            raise ValueError("code steps need an executor (the sandbox)")

    def solution_text(self, node: Node) -> str:
        """The partial solution ending at ``node`` (code mode: with each step's execution output)."""
        if self.step_format is not None:
            return code_mode.path_text(self.step_format, node)
        steps = node.steps()
        return STEP_SEPARATOR.join(steps) + STEP_SEPARATOR if steps else ""

    def scored_steps(self, node: Node) -> tuple[str, ...]:
        """The steps a scorer sees for ``node``: as the policy saw them (code mode: with outputs)."""
        if self.step_format is not None:
            return code_mode.shown_steps(self.step_format, node)
        return node.steps()

    def prompt(self, tree: Tree, node: Node) -> str:
        """Chat prompt for the question followed by the node's steps, ready for the next step."""
        return self.chat_prompt(tree.question) + self.solution_text(node)

    def step_stop(self) -> tuple[str, ...]:
        """Where one step ends: the blank line, or where the code step's output block would begin."""
        return self.step_format.stop if self.step_format is not None else (STEP_SEPARATOR,)

    def seed_for(self, tree: Tree, node: Node, salt: int = 0) -> int:
        """A per-request seed from (run seed, problem, node path, salt): reruns sample the same."""
        key = f"{self.seed}\x00{tree.problem_id}\x00{node.path}\x00{salt}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF

    def budget_left(self) -> bool:
        return self.max_tokens_per_problem is None or self.generated_tokens < self.max_tokens_per_problem

    def verify(self, tree: Tree, node: Node, *, whole: bool = False) -> None:
        """Mark ``node`` terminal and store the verdict on the answer it states.

        A step that states the answer (``step_kind == "answer"``) is verified on its own text, so a
        heading or an intermediate result in an earlier step (``#### Step 2``, an early ``\\boxed``)
        cannot be taken for the final answer; with ``whole`` (a whole sampled solution), or for any
        other node, the solution ending at it. Callers verify only solutions that state an answer
        (see ``transforms.search.endings``).
        """
        node.is_terminal = True
        text = node.step_text if node.step_kind == "answer" and not whole else self.solution_text(node)
        node.verdict = self.verifier.verify(text.rstrip(), tree.gold_answer)


# What may follow an answer marker for it to state an answer: a number, a sign, math ($, \\, parentheses,
# brackets, a fraction bar) or a choice letter; not a word ("the answer is not obvious", "#### Step 2").
_ANSWER_START = r"(?=[-+\u2212$\\(\[{.\d]|[A-E](?:\)|\.|,|$|\s*$))"
_ANSWER_MARK = re.compile(
    r"\banswer\s*(?:is|:|=)\s*:?\s*(?:\*\*)?\s*" + _ANSWER_START + r"|^[ \t]*####[ \t]*(?:\*\*)?" + _ANSWER_START,
    re.IGNORECASE | re.MULTILINE,
)


def states_answer(text: str) -> bool:
    """True if ``text`` states a final answer: a closed, non-empty ``\\boxed{}``/``\\fbox{}``, or an answer
    marker ("the answer is", "Final Answer:", a line starting ``####``) followed by an answer."""
    if last_boxed(text):
        return True
    return _ANSWER_MARK.search(text) is not None


def classify_step(text: str) -> str:
    """``code`` for a step with a Python block, ``answer`` for one that states a final answer, else ``text``."""
    if "```python" in text or "<code>" in text:
        return "code"
    return "answer" if states_answer(text) else "text"


def settle_solution(tree: Tree, leaf: Node, env: SearchEnv, finish_reason: str | None) -> None:
    """End a whole sampled solution (best-of-n): verify it if it states an answer, else end it unverified
    (``transforms.search.endings``): empty, cut by the token limit, or finished without an answer."""
    text = env.solution_text(leaf)
    if states_answer(text):
        env.verify(tree, leaf, whole=True)
    elif not text.strip():
        end_branch(leaf, EMPTY_STEP)
    else:
        end_branch(leaf, LENGTH if finish_reason == "length" else NO_ANSWER)


def add_sample_chain(parent: Node, sample: Sample, prompt_tokens: int | None) -> Node:
    """Append a whole sampled solution under ``parent`` as a chain of step nodes; return its leaf."""
    pieces = split_sample(sample)
    if not pieces:
        # An empty completion is still a (wrong) leaf: counted, never dropped.
        return parent.add_child("", "text", finish_reason=sample.finish_reason, num_tokens=sample.num_tokens,
                                prompt_tokens=prompt_tokens, prior_logprob=sample.cumulative_logprob)
    node = parent
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        node = node.add_child(
            piece.text, classify_step(piece.text), finish_reason=sample.finish_reason if last else "split",
            num_tokens=piece.num_tokens, prior_logprob=piece.logprob,
            prompt_tokens=prompt_tokens if index == 0 else None,
        )
    return node


def sampling(config: Any, *, n: int, seed: int, stop: Sequence[str] = ()) -> SamplingSpec:
    """A SamplingSpec from an algorithm config's temperature/top_p/max_tokens fields."""
    return SamplingSpec(n=n, max_tokens=config.max_tokens, temperature=config.temperature,
                        top_p=getattr(config, "top_p", 1.0), stop=tuple(stop), seed=seed)


def config_hash(name: str, config: Any) -> str:
    """Digest of the algorithm name and every config field."""
    payload = json.dumps({"search": name, **dataclasses.asdict(config)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Preset:
    """A named set of config values (e.g. a paper's settings) and where it departs from its source."""

    params: tuple[tuple[str, Any], ...]
    note: str = ""

    @classmethod
    def of(cls, note: str = "", **params: Any) -> "Preset":
        return cls(tuple(sorted(params.items())), note)


def build_config(cls: type, params: dict[str, str] | None = None, presets: dict[str, Preset] | None = None):
    """Instantiate a frozen config dataclass from ``key=value`` strings (CLI), converting by field type.

    ``preset=NAME`` (one of ``presets``) starts from that preset's values; other keys override them.
    """
    params = dict(params or {})
    if "preset" in params:
        name = params.pop("preset")
        if name not in (presets or {}):
            known = ", ".join(sorted(presets or {})) or "none"
            raise ValueError(f"unknown {cls.__name__} preset {name!r}; known: {known}")
        params = {**dict(presets[name].params), **params}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}; known: {', '.join(fields)}")
    kwargs = {name: _convert(value, fields[name].type, name) for name, value in params.items()}
    return cls(**kwargs)


def _convert(value: Any, type_name: Any, name: str) -> Any:
    if not isinstance(value, str):
        return value
    type_name = str(type_name).replace(" ", "")
    alternatives = type_name.split("|")
    if len(alternatives) > 1 and "str" in alternatives:  # e.g. float | str: a number if it reads as one
        for alternative in (a for a in alternatives if a != "str"):
            try:
                return _convert(value, alternative, name)
            except ValueError:
                continue
        return value
    try:
        if type_name.startswith("bool"):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if type_name.startswith("int"):
            return int(value)
        if type_name.startswith("float"):
            return float(value)
        if type_name.startswith("tuple"):
            return tuple(v for v in value.split(",") if v)
    except ValueError:
        raise ValueError(f"option {name}: cannot read {value!r} as {type_name}") from None
    return value
