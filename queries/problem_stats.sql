-- Per problem: tree size, depth, leaves, correct leaves, leaf accuracy and generated tokens.
SELECT problem_id,
       count(*)                                             AS nodes,
       max(depth)                                           AS max_depth,
       count(*) FILTER (WHERE is_terminal)                  AS leaves,
       count(*) FILTER (WHERE is_terminal AND verdict)      AS correct_leaves,
       round(avg(CASE WHEN is_terminal THEN coalesce(verdict, false)::INT END), 3) AS leaf_accuracy,
       sum(num_tokens)                                      AS tokens
FROM nodes
GROUP BY problem_id
ORDER BY problem_id;
