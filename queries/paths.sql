-- Every root-to-leaf path of every tree, rebuilt from parent links with a recursive CTE.
-- One row per leaf: the problem, the leaf's path, number of steps, verdict, and the start of the solution
-- text (its first 160 characters, newlines shown as spaces).
--
-- Written for speed (1M nodes, see docs/benchmarks.md); each choice gives the same rows as the plain walk:
-- * nodes is read once (MATERIALIZED): a recursive step over the view re-read and decoded the Parquet
--   files at every level (half the time at 1M nodes), and a second scan fetched the leaves' verdicts;
--   the walk now carries them along.
-- * only the first 160 characters are shown, so the walked text is cut there: left(left(s, 160) || t, 160)
--   = left(s || t, 160) (left counts characters, not bytes), and a text already full is passed on as is,
--   instead of building and copying every whole solution.
WITH RECURSIVE tree AS MATERIALIZED (
    SELECT run_id, problem_id, node_id, parent_id, path, depth, step_text, is_terminal, verdict, extracted_answer
    FROM nodes
),
walk AS (
    SELECT run_id, problem_id, node_id, path, depth, is_terminal, verdict, extracted_answer, '' AS solution
    FROM tree
    WHERE parent_id IS NULL
    UNION ALL
    SELECT c.run_id, c.problem_id, c.node_id, c.path, c.depth, c.is_terminal, c.verdict, c.extracted_answer,
           CASE WHEN w.depth = 0 THEN left(c.step_text, 160)
                WHEN length(w.solution) >= 160 THEN w.solution
                ELSE left(w.solution || chr(10) || chr(10) || c.step_text, 160) END
    FROM walk w
    JOIN tree c ON c.parent_id = w.node_id AND c.run_id = w.run_id AND c.problem_id = w.problem_id
)
SELECT w.problem_id,
       w.path AS leaf_path,
       w.depth AS steps,
       w.is_terminal,
       w.verdict,
       w.extracted_answer,
       replace(w.solution, chr(10), ' ') AS solution_start
FROM walk w
WHERE w.depth > 0
  AND NOT EXISTS (SELECT 1 FROM tree c WHERE c.parent_id = w.node_id AND c.run_id = w.run_id)  -- a leaf: no children
ORDER BY w.problem_id, w.path;
