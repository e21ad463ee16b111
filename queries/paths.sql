-- Every root-to-leaf path of every tree, rebuilt from parent links with a recursive CTE.
-- One row per leaf: the problem, the leaf's path, number of steps, verdict, and the start of the solution
-- text (its first 160 characters, newlines shown as spaces).
--
-- Written for speed (1M nodes, see docs/benchmarks.md); each choice gives the same rows as the plain walk:
-- * nodes is read once (MATERIALIZED): a recursive step over the view would re-read the Parquet files
--   at every level.
-- * a leaf is a node that no node of its run names as parent; it is flagged once up front, so the walk
--   follows internal nodes only and each leaf meets its parent's walked text once, at the end.
-- * only the first 160 characters are shown, so the walked text is cut there: left(left(s, 160) || t, 160)
--   = left(s || t, 160), and most of the string building (and copying) of whole solutions is skipped.
WITH RECURSIVE tree AS MATERIALIZED (
    SELECT n.run_id, n.problem_id, n.node_id, n.parent_id, n.path, n.depth, n.step_text,
           n.is_terminal, n.verdict, n.extracted_answer,
           p.parent_id IS NULL AS is_leaf
    FROM nodes n
    LEFT JOIN (SELECT DISTINCT run_id, parent_id FROM nodes) p ON p.parent_id = n.node_id AND p.run_id = n.run_id
),
walk AS (  -- internal nodes reachable from a root, with the first 160 characters of their solution so far
    SELECT run_id, problem_id, node_id, depth, '' AS solution
    FROM tree
    WHERE parent_id IS NULL AND NOT is_leaf
    UNION ALL
    SELECT c.run_id, c.problem_id, c.node_id, c.depth,
           CASE WHEN w.depth = 0 THEN left(c.step_text, 160)
                WHEN length(w.solution) >= 160 THEN w.solution  -- already full: the children add nothing shown
                ELSE left(w.solution || chr(10) || chr(10) || c.step_text, 160) END
    FROM walk w
    JOIN tree c ON c.parent_id = w.node_id AND c.run_id = w.run_id AND c.problem_id = w.problem_id
    WHERE NOT c.is_leaf
)
SELECT l.problem_id,
       l.path AS leaf_path,
       l.depth AS steps,
       l.is_terminal,
       l.verdict,
       l.extracted_answer,
       replace(CASE WHEN w.depth = 0 THEN left(l.step_text, 160)
                    ELSE left(w.solution || chr(10) || chr(10) || l.step_text, 160) END, chr(10), ' ') AS solution_start
FROM tree l
JOIN walk w ON l.parent_id = w.node_id AND l.run_id = w.run_id AND l.problem_id = w.problem_id
WHERE l.is_leaf AND l.depth > 0  -- depth 0 is a root: a tree with no steps has no path
ORDER BY l.problem_id, l.path;
