-- The best path of each tree: from the root, always take the child with the highest Q (ties: the
-- first child in path order), as a search would when it stops exploring. Needs the steps table.
-- No recursion: a step is on the best path when it and every ancestor (the steps whose stored
-- `path` is a prefix of its own) is its parent's best child; the deepest such step ends the path.
WITH chosen AS (
    SELECT label_run_id, problem_id, node_id, path, depth, is_terminal, verdict, q, step_text
    FROM steps
    QUALIFY row_number() OVER (PARTITION BY label_run_id, problem_id, parent_id
                               ORDER BY q DESC NULLS LAST, string_split(path, '.')::INT[]) = 1
),
prefixes AS (
    SELECT label_run_id, problem_id, node_id, path, depth, is_terminal, verdict,
           unnest(range(1, depth + 1)) AS k, string_split(path, '.') AS parts
    FROM chosen
),
best AS (
    SELECT p.label_run_id, p.problem_id, p.path, p.depth, p.is_terminal, p.verdict,
           list(a.q ORDER BY a.depth) AS qs,
           string_agg(a.step_text, chr(10) || chr(10) ORDER BY a.depth) AS solution,
           count(a.node_id) AS chosen_ancestors
    FROM prefixes p
    LEFT JOIN chosen a ON a.label_run_id = p.label_run_id AND a.problem_id = p.problem_id
                      AND a.path = array_to_string(p.parts[1:p.k], '.')
    GROUP BY ALL
    HAVING count(a.node_id) = p.depth
)
SELECT problem_id, path AS leaf_path, depth AS steps, is_terminal, verdict,
       qs AS q_along_path,
       replace(left(solution, 160), chr(10), ' ') AS solution_start
FROM best
QUALIFY row_number() OVER (PARTITION BY label_run_id, problem_id ORDER BY depth DESC) = 1
ORDER BY problem_id;
