-- Distribution of step Q by depth (needs the label output: the steps table). q is the rule Q, in
-- [-1, 1]: the search's stored Q where it estimates the terminal reward (mcts-rstar, mcts-alphamath),
-- else the label-time Q from terminal rewards; null for steps with no counted completion below.
SELECT depth,
       count(*)                                AS steps,
       count(q)                                AS with_q,
       count(q_search)                         AS with_search_q,
       round(avg(q), 4)                        AS mean_q,
       round(min(q), 4)                        AS min_q,
       round(quantile_cont(q, 0.25), 4)        AS p25_q,
       round(median(q), 4)                     AS median_q,
       round(quantile_cont(q, 0.75), 4)        AS p75_q,
       round(max(q), 4)                        AS max_q,
       round(avg((q > 0)::INT), 4)             AS share_positive
FROM steps
GROUP BY depth
ORDER BY depth;
