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
    assert one("SELECT max(depth) FROM '{nodes}'") <= MAX_DEPTH or one("SELECT min(search) FROM '{nodes}'") in ("best-of-n", "greedy")
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
        assert all(tree.root.visits > 0 for tree in trees)  # the search's statistics are stored
    if search == "mcts-alphamath":
        for tree in trees:  # N(s) >= sum of children's N: every backup through a child passes s
            assert all(n.visits >= sum(c.visits for c in n.children) for n in tree.nodes())
    if search == "mcts-rstar":
        for tree in trees:  # every rollout through s ends in exactly one child's subtree
            assert all(n.visits == sum(c.visits for c in n.children) for n in tree.nodes() if n.children)
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
