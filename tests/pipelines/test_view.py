"""view: the static tree site, unit-checked in Python and driven in a real headless browser
(Debian's chromium through playwright, never a downloaded browser): pages load from file://
without console errors, the node count shown equals the shard's, opening a node shows its
children, the index sorts, and a 2,000-node tree stays usable. Screenshots are kept as test
artifacts in test-artifacts/ (or $TREEMILL_ARTIFACTS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines.view import run as view
from pipelines.view import tree_json
from schemas import NODES_V1, PROBLEMS_V1
from tests.cli import assert_one_error_line
from tests.transforms.labels.hand_trees import node_rows, problem_row
from transforms.search.tree import Tree
from transforms.io.shards import write_table

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # .ci/setup installs Debian's chromium with apt
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("TREEMILL_ARTIFACTS", REPO / "test-artifacts"))
BIG = 2000


@pytest.fixture(scope="module")
def site(labelled, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pipelines.view", "--shards", str(labelled), "--output", str(out)],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "trees 4, nodes 31" in done.stdout
    return out


def _big_tree() -> Tree:
    """Exactly BIG nodes, root included: six children per node, filled breadth first."""
    tree = Tree("big", "How many nodes?", "2000")
    made = 1
    frontier = [tree.root]
    while made < BIG:
        parent = frontier.pop(0)
        for _ in range(6):
            if made >= BIG:
                break
            child = parent.add_child(f"Step {made}: " + "some reasoning " * 8, visits=made % 7, value_sum=0.5,
                                     prior=0.2)
            frontier.append(child)
            made += 1
    return tree


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("big")
    tree = _big_tree()
    write_table(pa.Table.from_pylist(node_rows(tree), schema=NODES_V1), f"{out}/nodes/nodes-00000-of-00001.parquet")
    write_table(pa.Table.from_pylist([problem_row(tree)], schema=PROBLEMS_V1), f"{out}/problems/problems-00000-of-00001.parquet")
    view(["--shards", str(out), "--output", str(out / "site")])
    return out / "site"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run .ci/setup as root (it installs chromium with apt)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def _open(browser, path: Path):
    """A page at file://path, with every console error and page error collected."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: errors.append(f"network request {request.url}")
            if not request.url.startswith("file://") else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def test_tree_json_marks_correct_paths_and_keeps_orphans(labelled):
    rows = duckdb.connect().execute(f"SELECT * FROM '{labelled}/nodes/*.parquet' WHERE problem_id = 'p1'").fetchall()
    cols = [c for c in NODES_V1.names]
    rows = [dict(zip(cols, r)) for r in rows]
    data = tree_json({"problem_id": "p1", "question": "q", "gold_answer": "5"}, rows, {}, {})
    ok = sorted(n["path"] for n in data["nodes"] if n.get("ok"))
    # Correct leaves A0, A1, B1, F00 and their ancestors A, B, F, F0 and the root.
    assert ok == ["", "0", "0.0", "0.1", "1", "1.1", "5", "5.0", "5.0.0"]
    orphan_rows = [r for r in rows if r["path"] not in ("5", )]  # drop F: F0 loses its parent
    orphaned = tree_json({"problem_id": "p1", "question": "q", "gold_answer": "5"}, orphan_rows, {}, {})
    f0 = next(n for n in orphaned["nodes"] if n["path"] == "5.0")
    assert f0.get("orphan") and orphaned["nodes"][f0["p"]]["path"] == ""
    assert len(orphaned["nodes"]) == len(orphan_rows)  # nothing hidden


def test_index_lists_every_problem_and_sorts(site, browser):
    page, errors = _open(browser, site / "index.html")
    assert page.locator("table.problems tbody tr").count() == 4
    page.click("th[data-key=nodes]")
    page.click("th[data-key=nodes]")  # descending
    assert page.locator("tbody tr td.col-problem_id").all_inner_texts() == ["p1", "p2", "p3", "p4"]
    page.click("th[data-key=nodes]")
    assert page.locator("tbody tr td.col-problem_id").all_inner_texts()[0] == "p4"
    assert sorted(page.locator("tr.solved td.col-problem_id").all_inner_texts()) == ["p1", "p2", "p3"]
    assert errors == []
    page.close()


def test_tree_page_shows_the_shards_nodes_and_opens_children(site, labelled, browser):
    page, errors = _open(browser, site / "index.html")
    page.click("text=p1")
    page.wait_for_selector("#node-count")
    shard_count = duckdb.connect().execute(
        f"SELECT count(*) FROM '{labelled}/nodes/*.parquet' WHERE problem_id = 'p1'").fetchone()[0]
    assert int(page.inner_text("#node-count")) == shard_count == 17
    # C ("I will just guess") is not on a correct path: closed, its child not rendered yet.
    c = page.locator("li.node[data-path='2']")
    assert "open" not in c.get_attribute("class") and page.locator("li.node[data-path='2.0']").count() == 0
    c.locator(":scope > .head > .toggle").click()
    child = page.locator("li.node[data-path='2.0']")
    assert child.is_visible() and "wrong" in child.get_attribute("class")
    c.locator(":scope > .head > .toggle").click()
    assert not child.is_visible()
    # Correct paths open and highlighted; verdict colours; code with its status; pair markers from label.
    assert page.locator("li.node.ok-path[data-path='5.0.0'].correct").is_visible()
    assert page.locator("li.node[data-path='0.1'] details.code summary").inner_text() == "code \u00b7 error"
    assert page.locator(".pair.chosen").count() > 0 and page.locator(".pair.rejected").count() > 0
    page.click("#expand-all")
    assert page.locator("li.node").count() == shard_count
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-tree.png"), full_page=True)
    assert (ARTIFACTS / "viewer-tree.png").stat().st_size > 10_000
    assert errors == []
    page.close()


def test_a_2000_node_tree_stays_usable(big_site, browser):
    page, errors = _open(browser, big_site / "trees" / "00001.html")
    assert int(page.inner_text("#node-count")) == BIG
    assert page.locator("li.node").count() < 50  # only the root's children are built at first
    page.click("#expand-all")
    assert page.locator("li.node").count() == BIG
    page.click("#collapse-all")
    page.locator("li.node[data-path='3'] > .head > .toggle").click()
    assert page.locator("li.node[data-path='3.0']").is_visible()
    page.screenshot(path=str(ARTIFACTS / "viewer-2000-nodes.png"))
    assert errors == []
    page.close()


def test_view_needs_shards(tmp_path, capsys):
    assert_one_error_line(view, ["--shards", str(tmp_path), "--output", str(tmp_path / "s")], "no nodes shards", capsys)
    assert_one_error_line(view, ["--shards", str(tmp_path), "--outptu", "x"], "did you mean --output?", capsys)
