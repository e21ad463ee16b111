-- Every root-to-leaf path of every tree. One row per leaf (a node without children): the problem,
-- the leaf's path, number of steps, verdict, and the solution text. No recursion: a node's ancestors
-- are the nodes of its tree whose stored `path` is a prefix of its own ('0.2.1' -> '0', '0.2',
-- '0.2.1'), found with one equi-join (1M nodes in about a second, bench/query_bench.py).
WITH leaves AS (
    SELECT n.run_id, n.problem_id, n.node_id, n.path, n.depth, n.is_terminal, n.verdict, n.extracted_answer
    FROM nodes n
    WHERE n.depth > 0
      AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent_id = n.node_id AND c.run_id = n.run_id)
),
prefixes AS (
    SELECT run_id, problem_id, node_id, unnest(range(1, depth + 1)) AS k, string_split(path, '.') AS parts
    FROM leaves
),
solutions AS (
    SELECT p.run_id, p.problem_id, p.node_id,
           string_agg(a.step_text, chr(10) || chr(10) ORDER BY a.depth) AS solution
    FROM prefixes p
    JOIN nodes a ON a.run_id = p.run_id AND a.problem_id = p.problem_id
                AND a.path = array_to_string(p.parts[1:p.k], '.')
    GROUP BY ALL
)
SELECT l.problem_id,
       l.path AS leaf_path,
       l.depth AS steps,
       l.is_terminal,
       l.verdict,
       l.extracted_answer,
       replace(left(s.solution, 160), chr(10), ' ') AS solution_start
FROM leaves l
JOIN solutions s USING (run_id, problem_id, node_id)
ORDER BY l.problem_id, l.path;
