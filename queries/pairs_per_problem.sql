-- Preference pairs per problem and kind (needs the label output: steps and pairs tables).
-- Problems that were labelled but gave no pair are listed with zeros.
WITH problems_labelled AS (SELECT DISTINCT problem_id FROM steps)
SELECT l.problem_id,
       count(p.pair_id) FILTER (WHERE p.kind = 'ppm')      AS ppm,
       count(p.pair_id) FILTER (WHERE p.kind = 'sibling')  AS sibling,
       count(p.pair_id) FILTER (WHERE p.kind = 'solution') AS solution,
       count(p.pair_id)                                    AS total,
       round(avg(p.margin), 4)                             AS mean_margin
FROM problems_labelled l
LEFT JOIN pairs p USING (problem_id)
GROUP BY l.problem_id
ORDER BY l.problem_id;
