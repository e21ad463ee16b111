-- Failures by reason: dead letters of every stage, code steps whose sandbox run failed
-- (exec_status), and terminal steps the verifier could not decide (verdict_method: timeout,
-- no_answer, ...). Needs nodes and dead_letters (label always writes a dead_letters shard).
SELECT *
FROM (
    SELECT 'dead letter' AS category, stage || ': ' || reason AS reason,
           count(*) AS count, count(DISTINCT record_id) AS problems
    FROM dead_letters
    GROUP BY ALL
    UNION ALL
    SELECT 'code', 'exec_status=' || exec_status, count(*), count(DISTINCT problem_id)
    FROM nodes
    WHERE exec_status IS NOT NULL AND exec_status <> 'ok'
    GROUP BY ALL
    UNION ALL
    SELECT 'verifier', 'verdict_method=' || verdict_method, count(*), count(DISTINCT problem_id)
    FROM nodes
    WHERE is_terminal AND verdict IS NULL
    GROUP BY ALL
)
ORDER BY category, count DESC, reason;
