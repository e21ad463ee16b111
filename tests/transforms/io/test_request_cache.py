"""The request cache wrappers: misses go to the backend, hits replay exactly, keys cover what matters."""

from __future__ import annotations

from transforms.runner.metrics import TimedExecutor
from transforms.protocols import ExecutionResult, GenerationRequest, SamplingSpec, ScoreRequest
from transforms.io.request_cache import CachedExecutor, CachedPolicy, CachedScorer, RequestStore

from tests.fakes import ScriptedPolicy


def _request(prompt: str, seed: int = 1, temperature: float = 0.7) -> GenerationRequest:
    return GenerationRequest(prompt, SamplingSpec(n=2, max_tokens=8, temperature=temperature, seed=seed))


def test_policy_misses_go_to_the_backend_and_hits_replay_exactly(tmp_path):
    backend = ScriptedPolicy(lambda prompt, i, seed: f"{prompt} sample {i} seed {seed}")
    store = RequestStore(tmp_path / "c.sqlite")
    policy = CachedPolicy(backend, store, digest="model-a")
    first = policy.generate([_request("a"), _request("b")])
    assert len(backend.calls) == 1 and store.stats.misses["policy"] == 2

    again = policy.generate([_request("b"), _request("c"), _request("a")])
    assert again[0] == first[1] and again[2] == first[0]  # replayed, in request order
    assert [r.prompt for r in backend.calls[-1]] == ["c"]  # only the miss reached the backend
    assert store.stats.hits["policy"] == 2 and store.stats.misses["policy"] == 3

    # Another seed, another temperature or another model is another request.
    policy.generate([_request("a", seed=2), _request("a", temperature=0.0)])
    CachedPolicy(backend, store, digest="model-b").generate([_request("a")])
    assert store.stats.hits["policy"] == 2 and store.stats.misses["policy"] == 6


def test_the_store_survives_a_new_process(tmp_path):
    backend = ScriptedPolicy(lambda prompt, i, seed: "x y z")
    first = CachedPolicy(backend, RequestStore(tmp_path / "c.sqlite"), "m").generate([_request("a")])
    reopened = RequestStore(tmp_path / "c.sqlite")
    replay = CachedPolicy(backend, reopened, "m").generate([_request("a")])
    assert replay == first and reopened.stats.hits["policy"] == 1 and len(backend.calls) == 1
    assert replay[0].samples[0].token_texts == first[0].samples[0].token_texts


class _Scorer:
    model_id = "value"

    def __init__(self):
        self.seen = []

    def score(self, requests):
        self.seen += requests
        return [len(r.steps) / 10 for r in requests]


def test_scorer_is_keyed_on_question_and_steps(tmp_path):
    scorer = _Scorer()
    cached = CachedScorer(scorer, RequestStore(tmp_path / "c.sqlite"), "v1")
    assert cached.score([ScoreRequest("q", ("a",)), ScoreRequest("q", ("a", "b"))]) == [0.1, 0.2]
    assert cached.score([ScoreRequest("q", ("a", "b")), ScoreRequest("r", ("a",))]) == [0.2, 0.1]
    assert len(scorer.seen) == 3 and cached.store.stats.hits["scorer"] == 1


class _Executor:
    limits = "limits"

    def __init__(self):
        self.runs = []

    def execute(self, code):
        return self.execute_many([code])[0]

    def execute_many(self, codes):
        self.runs += codes
        return [ExecutionResult("ok" if "ok" in c else "sandbox_error", 0, c, "", False, 0.25) for c in codes]


def test_sandbox_results_are_cached_unless_the_sandbox_itself_failed(tmp_path):
    inner = _Executor()
    cached = CachedExecutor(TimedExecutor(inner), RequestStore(tmp_path / "c.sqlite"), "limits",
                            cacheable=lambda r: r.status != "sandbox_error")
    assert cached.limits == "limits"  # attributes of the wrapped executor show through
    first = cached.execute_many(["print('ok')", "crash"])
    again = cached.execute_many(["print('ok')", "crash"])
    assert again == first and inner.runs == ["print('ok')", "crash", "crash"]
    assert cached.execute("print('ok')") == first[0]
