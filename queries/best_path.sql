-- The best path of each tree: from the root, always take the child with the highest Q (ties: the
-- first child in path order), as a search would when it stops exploring. Needs the steps table.
--
-- Written for speed (1M steps, see docs/benchmarks.md); each choice gives the same rows as ranking every
-- step with a window and walking the ranks:
-- * each parent's choice is one grouped aggregate (first child in the search's order) that keeps only
--   the chosen child's id and depth: no window sort of all steps, no step texts carried along.
-- * the walk follows those choices with ids only; the few steps on the chosen paths get their Q, verdict
--   and text in one join at the end, and only the first 160 characters of the text are kept (all that
--   solution_start shows).
WITH RECURSIVE chosen AS MATERIALIZED (  -- per parent: the child a greedy search takes
    SELECT label_run_id, problem_id, parent_id,
           first({node_id: node_id, depth: depth}
                 ORDER BY q DESC NULLS LAST, string_split(path, '.')::INT[]) AS child
    FROM steps
    GROUP BY label_run_id, problem_id, parent_id
),
chain AS (  -- the chosen steps from depth 1 down; start_id names the path they belong to
    SELECT label_run_id, problem_id, child.node_id AS start_id, child.node_id, child.depth
    FROM chosen
    WHERE child.depth = 1
    UNION ALL
    SELECT c.label_run_id, c.problem_id, h.start_id, c.child.node_id, c.child.depth
    FROM chosen c
    JOIN chain h ON c.parent_id = h.node_id AND c.label_run_id = h.label_run_id AND c.problem_id = h.problem_id
),
walked AS (  -- one row per path: its last step, the Q of each step and the start of the solution
    SELECT h.label_run_id, h.problem_id,
           arg_max({path: s.path, depth: s.depth, is_terminal: s.is_terminal, verdict: s.verdict}, h.depth) AS leaf,
           list(s.q ORDER BY h.depth) AS qs,
           left(string_agg(s.step_text, chr(10) || chr(10) ORDER BY h.depth), 160) AS solution
    FROM chain h
    JOIN steps s ON s.node_id = h.node_id AND s.label_run_id = h.label_run_id AND s.problem_id = h.problem_id
    GROUP BY h.label_run_id, h.problem_id, h.start_id
)
SELECT problem_id, leaf.path AS leaf_path, leaf.depth AS steps, leaf.is_terminal, leaf.verdict,
       qs AS q_along_path,
       replace(solution, chr(10), ' ') AS solution_start
FROM walked
QUALIFY row_number() OVER (PARTITION BY label_run_id, problem_id ORDER BY leaf.depth DESC) = 1
ORDER BY problem_id;
