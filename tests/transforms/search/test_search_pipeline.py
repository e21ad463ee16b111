"""End to end: every registered search through ``pipelines.generate.run`` on the real engine (tiny model).

Budgets are tiny (2 problems, steps of at most 16 tokens, a few iterations): the tiny model writes
gibberish, so these check plumbing and tree consistency, not accuracy. The step beam search ranks
with a tiny local scorer (transformers backend), which covers the scorer options end to end.
"""

import json

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.generate import run
from transforms.search.endings import is_unfinished
from transforms.search.tree import Tree

PROBLEMS = 2
MAX_DEPTH = 3
RUNS = {
    "mcts-alphamath": ["iterations=3", "n=2", f"max_depth={MAX_DEPTH}"],
    "mcts-rstar": ["rollouts=2", "n=2", f"max_depth={MAX_DEPTH}"],
    "sbs": ["preset=alphamath-3x5", "beam_width=2", "n=2", f"max_depth={MAX_DEPTH}", "rank_by=scorer"],
    "rest-mcts": ["iterations=2", "branch=2", "roll_steps=1", f"max_depth={MAX_DEPTH}"],
    "best-of-n": ["n=2"],
    "greedy": [],
}


@pytest.fixture(scope="module")
def scorer_dir(tmp_path_factory) -> str:
    from transforms.scorer.tiny import build_tiny_scorer

    return str(build_tiny_scorer(tmp_path_factory.mktemp("scorer")))


@pytest.fixture()
def problems_file(tmp_path, gsm8k_rows):
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in gsm8k_rows[:PROBLEMS]))
    return path


def _generate(tmp_path, problems_file, spec, search, params, *extra):
    out = tmp_path / f"out-{search}"
    argv = ["--input", str(problems_file), "--output", str(out), "--model", spec.model,
            "--max-model-len", str(spec.max_model_len), "--kv-cache-gb", str(spec.kv_cache_gb), "--num-shards", "2",
            "--search", search, "--search-param", "max_tokens=16", "--no-progress", *extra]
    for param in params:
        argv += ["--search-param", param]
    return out, run(argv)


def _check_trees(out) -> list[Tree]:
    """Shards hold one consistent tree per problem; returns the trees rebuilt from the rows."""
    nodes = f"{out}/nodes/*.parquet"
    con = duckdb.connect()
    one = lambda sql: con.execute(sql.format(nodes=nodes)).fetchall()[0][0]  # noqa: E731
    assert one("SELECT count(DISTINCT problem_id) FROM '{nodes}'") == PROBLEMS
    assert one("SELECT count(*) FROM '{nodes}' WHERE parent_id IS NULL") == PROBLEMS
    assert one("""SELECT count(*) FROM '{nodes}' c WHERE parent_id IS NOT NULL AND NOT EXISTS
                  (SELECT 1 FROM '{nodes}' p WHERE p.node_id = c.parent_id)""") == 0
    assert one("SELECT count(*) FROM '{nodes}' WHERE is_terminal AND verdict_method IS NULL") == 0
    # max_depth steps, then one more that must state an answer (the reference rule: cut at depth > max_depth)
    assert one("SELECT max(depth) FROM '{nodes}'") <= MAX_DEPTH + 1 or one("SELECT min(search) FROM '{nodes}'") in ("best-of-n", "greedy")
    # a branch that states no answer is never verified: no verdict from a fallback on it
    assert one("""SELECT count(*) FROM '{nodes}' WHERE is_terminal AND verdict IS NOT NULL
                  AND verdict_method IN ('too_many_steps', 'length', 'empty_step')""") == 0
    assert one("SELECT count(*) FROM '{nodes}' WHERE depth > 0 AND num_tokens IS NULL") == 0
    rows = pq.read_table(f"{out}/nodes").to_pylist()
    trees = []
    for problem_id in sorted({r["problem_id"] for r in rows}):
        tree = Tree.from_rows([r for r in rows if r["problem_id"] == problem_id])
        assert len(tree.nodes()) == sum(r["problem_id"] == problem_id for r in rows)
        trees.append(tree)
    return trees


@pytest.mark.parametrize("search", sorted(RUNS))
def test_every_search_writes_consistent_trees(search, tmp_path, problems_file, scorer_dir, tiny_policy, tiny_policy_spec):
    extra = ["--scorer-model", scorer_dir, "--scorer-param", "activation=tanh"] if search == "sbs" else []
    out, summary = _generate(tmp_path, problems_file, tiny_policy_spec, search, RUNS[search], *extra)
    counts = summary["counts"]
    assert counts["searched"] == PROBLEMS and counts["dead_letters_search"] == 0 and counts["nodes"] > PROBLEMS
    trees = _check_trees(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["search"] == search
    if search.startswith("mcts") or search == "rest-mcts":
        # the search's statistics are stored (rStar: a tiny model's steps are mostly cut by max_tokens, and
        # such unfinished steps get node-only updates, so the root itself may have none)
        assert all(any(n.visits > 0 for n in tree.nodes()) for tree in trees)
    if search == "mcts-alphamath":
        for tree in trees:  # N(s) >= sum of children's N: every backup through a child passes s
            assert all(n.visits >= sum(c.visits for c in n.children) for n in tree.nodes())
    if search == "mcts-rstar":
        for tree in trees:  # every rollout through s ends in exactly one child's subtree; unfinished children
            # have a node-only update (N = 1, q = -1) that is not counted above them
            assert all(n.visits == sum(c.visits for c in n.children if not is_unfinished(c))
                       for n in tree.nodes() if n.children)
            assert all((c.visits, c.value_sum) == (1, -1.0) for c in tree.nodes() if is_unfinished(c))
    if search == "sbs":  # every candidate was ranked by the scorer (tanh-squashed)
        estimates = [n.value_estimate for t in trees for n in t.nodes() if n.parent is not None]
        assert estimates and all(v is not None and -1.0 <= v <= 1.0 for v in estimates)


def test_a_search_that_needs_a_scorer_refuses_to_start_without_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--demo", "--search", "mcts-rstar", "--search-param", "preset=rstar-ppm"])
    assert exit_info.value.code == 2 and "needs a scorer" in capsys.readouterr().err


def test_a_fixed_seed_grows_the_same_tree_on_the_engine(tiny_policy, gsm8k_rows):
    # Every search seeds each request from (run seed, problem, node path, salt); one engine check suffices.
    from tests.fakes import ExactVerifier
    from transforms.search import get_search
    from transforms.search.base import SearchEnv
    from transforms.search.scheduler import Scheduler

    algorithm = get_search("mcts-alphamath")
    config = algorithm.make_config({"iterations": "2", "n": "2", "max_tokens": "8", "max_depth": "3"})

    def grow():
        trees = [Tree(r["id"], r["question"], r["answer"]) for r in gsm8k_rows[:2]]
        Scheduler(tiny_policy).run(trees, algorithm.search, config, lambda: SearchEnv(
            chat_prompt=lambda q: tiny_policy.chat_prompt(q, "Solve."), verifier=ExactVerifier(), seed=11))
        return [(t.problem_id, n.path, n.step_text, n.visits, n.value_sum) for t in trees for n in t.nodes()]

    first = grow()
    assert len(first) > 2 and first == grow()


def test_a_tree_is_the_same_whatever_else_is_in_the_batch(tiny_policy):
    # The scheduler's claim: per-request seeds make a tree independent of the batch composition. On the real
    # engine: the same request alone and between two others of other lengths (3x the samples in the call)
    # samples the same text; and the same problem's tree grown alone and beside two others is the same.
    from tests.fakes import ExactVerifier
    from transforms.protocols import GenerationRequest, SamplingSpec
    from transforms.search import get_search
    from transforms.search.base import SearchEnv
    from transforms.search.scheduler import Scheduler

    questions = ["What is 2 + 3?", "A farmer has 7 hens and buys 5 more. How many hens does he have now?",
                 "Compute 9 * 4."]
    spec = SamplingSpec(n=3, max_tokens=12, temperature=1.0, seed=123)
    requests = [GenerationRequest(tiny_policy.chat_prompt(q, "Solve."), spec) for q in questions]
    [alone] = tiny_policy.generate(requests[:1])
    _, beside, _ = tiny_policy.generate([requests[1], requests[0], requests[2]])
    assert [(x.text, x.finish_reason) for x in alone.samples] == [(x.text, x.finish_reason) for x in beside.samples]
    assert [x.cumulative_logprob for x in alone.samples] == pytest.approx(
        [x.cumulative_logprob for x in beside.samples], abs=1e-3)

    algorithm = get_search("mcts-alphamath")
    config = algorithm.make_config({"iterations": "4", "n": "3", "max_tokens": "8", "max_depth": "3",
                                    "temperature": "1.0"})

    def grow(indexes):
        trees = [Tree(f"p{i}", questions[i], "5") for i in indexes]
        scheduler = Scheduler(tiny_policy)
        scheduler.run(trees, algorithm.search, config, lambda: SearchEnv(
            chat_prompt=lambda q: tiny_policy.chat_prompt(q, "Solve."), verifier=ExactVerifier(), seed=5))
        return [(n.path, n.step_text, n.finish_reason, n.visits, n.value_sum) for n in trees[0].nodes()], scheduler.stats

    tree_alone, alone_stats = grow([0])
    tree_batched, batched_stats = grow([0, 1, 2])
    assert max(batched_stats.batch_sizes) > max(alone_stats.batch_sizes)
    assert len(tree_alone) > 3 and tree_alone == tree_batched
