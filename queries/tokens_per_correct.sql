-- Token cost per correct trace: all tokens generated for a problem's tree divided by its correct
-- terminal steps (what one correct trace cost), and the mean tokens along a correct trace itself.
-- The last row, problem_id '(all)', totals every problem. No recursion: ancestors come from the stored
-- `path` column (a prefix join, see paths.sql).
WITH correct AS (
    SELECT run_id, problem_id, node_id, unnest(range(0, depth + 1)) AS k, string_split(path, '.') AS parts
    FROM nodes
    WHERE is_terminal AND verdict
),
traces AS (  -- tokens along each correct trace: its ancestors are the nodes whose path is a prefix of its own
    SELECT c.problem_id, sum(coalesce(a.num_tokens, 0)) AS path_tokens
    FROM correct c
    JOIN nodes a ON a.run_id = c.run_id AND a.problem_id = c.problem_id
                AND a.path = array_to_string(c.parts[1:c.k], '.')
    GROUP BY c.run_id, c.problem_id, c.node_id
),
per_problem AS (
    SELECT problem_id,
           count(*) FILTER (WHERE is_terminal)             AS traces,
           count(*) FILTER (WHERE is_terminal AND verdict) AS correct_traces,
           coalesce(sum(num_tokens), 0)::BIGINT            AS generated_tokens
    FROM nodes
    GROUP BY problem_id
),
rows AS (
    SELECT p.problem_id, p.traces, p.correct_traces, p.generated_tokens,
           (SELECT avg(t.path_tokens) FROM traces t WHERE t.problem_id = p.problem_id) AS mean_correct_trace_tokens,
           0 AS total_row
    FROM per_problem p
    UNION ALL
    SELECT '(all)', sum(traces)::BIGINT, sum(correct_traces)::BIGINT, sum(generated_tokens)::BIGINT,
           (SELECT avg(path_tokens) FROM traces), 1
    FROM per_problem
)
SELECT problem_id, traces, correct_traces, generated_tokens,
       round(generated_tokens / nullif(correct_traces, 0), 1) AS tokens_per_correct_trace,
       round(mean_correct_trace_tokens, 1) AS mean_correct_trace_tokens
FROM rows
ORDER BY total_row, problem_id;
