-- Every root-to-leaf path of every tree, rebuilt from parent links with a recursive CTE.
-- One row per leaf: the problem, the leaf's path, number of steps, verdict, and the solution text.
WITH RECURSIVE walk AS (
    SELECT run_id, problem_id, node_id, path, depth, '' AS solution
    FROM nodes
    WHERE parent_id IS NULL
    UNION ALL
    SELECT c.run_id, c.problem_id, c.node_id, c.path, c.depth,
           CASE WHEN w.depth = 0 THEN c.step_text ELSE w.solution || chr(10) || chr(10) || c.step_text END
    FROM nodes c
    JOIN walk w ON c.parent_id = w.node_id AND c.run_id = w.run_id AND c.problem_id = w.problem_id
)
SELECT w.problem_id,
       w.path AS leaf_path,
       w.depth AS steps,
       n.is_terminal,
       n.verdict,
       n.extracted_answer,
       replace(left(w.solution, 160), chr(10), ' ') AS solution_start
FROM walk w
JOIN nodes n USING (run_id, problem_id, node_id)
WHERE w.depth > 0
  AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent_id = w.node_id AND c.run_id = w.run_id)
ORDER BY w.problem_id, w.path;
