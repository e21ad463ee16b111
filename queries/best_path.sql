-- The best path of each tree: from the root, always take the child with the highest Q (ties: the
-- first child in path order), as a search would when it stops exploring. Needs the steps table.
WITH RECURSIVE ranked AS (
    SELECT *, row_number() OVER (PARTITION BY label_run_id, problem_id, parent_id
                                 ORDER BY q DESC NULLS LAST, string_split(path, '.')::INT[]) AS choice
    FROM steps
),
best AS (
    SELECT label_run_id, problem_id, node_id, path, depth, is_terminal, verdict, [q] AS qs, step_text AS solution
    FROM ranked
    WHERE depth = 1 AND choice = 1
    UNION ALL
    SELECT r.label_run_id, r.problem_id, r.node_id, r.path, r.depth, r.is_terminal, r.verdict,
           list_append(b.qs, r.q), b.solution || chr(10) || chr(10) || r.step_text
    FROM ranked r
    JOIN best b ON r.parent_id = b.node_id AND r.label_run_id = b.label_run_id AND r.problem_id = b.problem_id
    WHERE r.choice = 1
)
SELECT problem_id, path AS leaf_path, depth AS steps, is_terminal, verdict,
       qs AS q_along_path,
       replace(left(solution, 160), chr(10), ' ') AS solution_start
FROM best
QUALIFY row_number() OVER (PARTITION BY label_run_id, problem_id ORDER BY depth DESC) = 1
ORDER BY problem_id;
