"""The small protocols that search code talks to.

Search algorithms never import vLLM, sympy or subprocess machinery: they see a ``Policy`` that
samples continuations, an optional ``Scorer`` (value model / PRM / PPM), an optional ``Executor``
for code steps and a ``Verifier`` for final answers. Backends live in ``transforms.policy``,
``transforms.verify`` and ``transforms.sandbox``; unit tests use fakes with the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable


# --------------------------------------------------------------------------------------------
# Policy: one call generates for many prompts (batched across problems by the scheduler).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingSpec:
    """How to sample for one prompt. Mirrors the stable subset of vLLM's ``SamplingParams``."""

    n: int = 1
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = True

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    sampling: SamplingSpec


@dataclass(frozen=True)
class Sample:
    """One sampled continuation.

    ``token_texts``/``token_logprobs`` are per generated token when the backend returned them
    (used to attribute tokens and log-probabilities to the steps a sample is split into).
    """

    text: str
    num_tokens: int
    finish_reason: str | None
    cumulative_logprob: float | None = None
    token_texts: tuple[str, ...] | None = None
    token_logprobs: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Generation:
    """All samples for one request, plus prompt accounting."""

    samples: tuple[Sample, ...]
    prompt_tokens: int
    cached_prompt_tokens: int | None = None


@runtime_checkable
class Policy(Protocol):
    """A language model that continues prompts."""

    model_id: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Sample for every request in one engine call; results keep the request order."""
        ...

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        """The prompt text that opens an assistant turn answering ``question``."""
        ...


@runtime_checkable
class StreamingPolicy(Policy, Protocol):
    """A Policy that also takes requests as they arise and hands back each one when it finishes.

    The continuous scheduler (``transforms.search.continuous``) submits a tree's requests the moment
    the tree asks for them and resumes that tree as soon as they return, so the engine never waits
    for the slowest tree of a round. A Policy without these methods still works there (its requests
    are run with ``generate`` at each poll); both vLLM backends have them.
    """

    def submit(self, requests: Sequence[GenerationRequest]) -> list[int]:
        """Queue ``requests``; one ticket per request, in order."""
        ...

    def poll(self) -> list[tuple[int, Generation]]:
        """Run the engine until at least one queued request has finished; return ``(ticket,
        generation)`` for every request finished since the last poll, in any order. Empty only when
        nothing is queued."""
        ...


# --------------------------------------------------------------------------------------------
# Scorer: value model / PRM / PPM scores for partial solutions.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRequest:
    question: str
    steps: tuple[str, ...]


@runtime_checkable
class Scorer(Protocol):
    model_id: str

    def score(self, requests: Sequence[ScoreRequest]) -> list[float]:
        """One score per request (higher is better), in request order."""
        ...


# --------------------------------------------------------------------------------------------
# Executor: runs model-written code in a sandbox, never in this process.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionResult:
    status: str  # ok | error | timeout | killed | ...
    exit_code: int | None
    stdout: str
    stderr: str
    truncated: bool
    elapsed_s: float
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@runtime_checkable
class Executor(Protocol):
    def execute(self, code: str) -> ExecutionResult: ...

    def execute_many(self, codes: Sequence[str]) -> list[ExecutionResult]: ...


# --------------------------------------------------------------------------------------------
# Verifier: extracts the final answer from a step and compares it with the gold answer.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one predicted answer.

    ``equal`` is True/False, or None when undecidable (no answer found, a timeout, ...).
    ``method`` names the rule that decided it (e.g. ``string``, ``numeric``, ``symbolic``,
    ``timeout``, ``no_answer``).
    """

    equal: bool | None
    method: str
    extracted: str | None = None
    extraction_method: str | None = None
    pred_normalized: str | None = None
    gold_normalized: str | None = None
    elapsed_s: float = 0.0
    details: dict = field(default_factory=dict, compare=False)


@runtime_checkable
class Verifier(Protocol):
    name: str
    version: str

    def verify(self, prediction: str, gold: str) -> Verdict:
        """Extract the answer from ``prediction`` (a final step or whole solution) and compare."""
        ...
