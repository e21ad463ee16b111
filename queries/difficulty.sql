-- Per-problem difficulty: the fraction of a tree's terminal steps (leaves) that reach the gold answer.
-- Undecidable verdicts count as not correct. Buckets: unsolved (0), hard (<= 1/3), medium (<= 2/3), easy.
WITH per_problem AS (
    SELECT problem_id,
           count(*) FILTER (WHERE is_terminal)                 AS leaves,
           count(*) FILTER (WHERE is_terminal AND verdict)     AS correct_leaves,
           count(*) FILTER (WHERE is_terminal AND verdict IS NULL) AS undecided_leaves
    FROM nodes
    GROUP BY problem_id
)
SELECT problem_id, leaves, correct_leaves, undecided_leaves,
       round(correct_leaves / nullif(leaves, 0), 4) AS solve_rate,
       CASE WHEN leaves = 0 THEN 'no leaves'
            WHEN correct_leaves = 0 THEN 'unsolved'
            WHEN correct_leaves * 3 <= leaves THEN 'hard'
            WHEN correct_leaves * 3 <= 2 * leaves THEN 'medium'
            ELSE 'easy' END AS difficulty
FROM per_problem
ORDER BY solve_rate NULLS FIRST, problem_id;
