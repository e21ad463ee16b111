"""TRL-ready tables from the derived tables, as DuckDB SQL (they scale past memory).

    stepwise supervision  {prompt, completions, labels}   PRMTrainer; one row per stored trace
    preference            {prompt, chosen, rejected, margin}   DPOTrainer / RewardTrainer
    SFT                   {messages}                       SFTTrainer (conversational)

Labels stay floats. TRL's PRMTrainer turns each label into int(label), so 0.67 becomes 0: pass a
threshold (export --prm-threshold) to write 1.0 / 0.0 instead when training with it.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from schemas import TRL_PREFERENCE_V1, TRL_SFT_V1, TRL_STEPWISE_V1
from transforms.step_formats.text import STEP_SEPARATOR

# One row per terminal step: the steps from the root to it (ancestors share a path prefix).
_STEPWISE = """
SELECT any_value(p.question) AS prompt,
       list(s.step_text ORDER BY s.depth) AS completions,
       list(CASE WHEN $threshold IS NULL THEN s.label ELSE (s.label >= $threshold)::DOUBLE END
            ORDER BY s.depth) AS labels
FROM steps leaf
JOIN steps s ON s.problem_id = leaf.problem_id AND s.label_run_id = leaf.label_run_id
            AND (s.path = leaf.path OR starts_with(leaf.path, s.path || '.'))
JOIN problems p ON p.problem_id = leaf.problem_id
WHERE leaf.is_terminal
GROUP BY leaf.problem_id, leaf.path
HAVING count(s.label) = count(*)  -- a trace with an unlabelled step (skipped verdict, failed code) is left out
ORDER BY leaf.problem_id, leaf.path
"""

_PREFERENCE = """
SELECT CASE WHEN len(prefix) = 0 THEN question
            ELSE question || $sep || array_to_string(prefix, $sep) || $sep END AS prompt,
       chosen, rejected, margin
FROM pairs
WHERE list_contains($kinds, kind)
ORDER BY problem_id, kind, pair_id
"""

_SFT = """
SELECT [{'role': 'user', 'content': question}, {'role': 'assistant', 'content': solution}] AS messages
FROM sft
ORDER BY problem_id, rank
"""


def _table(con: duckdb.DuckDBPyConnection, sql: str, params: dict, schema: pa.Schema) -> pa.Table:
    return con.sql(sql, params=params).to_arrow_table().select(schema.names).cast(schema)


def stepwise(con: duckdb.DuckDBPyConnection, threshold: float | None = None) -> pa.Table:
    """Needs views ``steps`` and ``problems``. ``threshold``: write label >= threshold as 1.0/0.0."""
    return _table(con, _STEPWISE, {"threshold": threshold}, TRL_STEPWISE_V1)


def preference(con: duckdb.DuckDBPyConnection, kinds: tuple[str, ...]) -> pa.Table:
    """Needs view ``pairs``; keeps the pair kinds listed in ``kinds``."""
    return _table(con, _PREFERENCE, {"sep": STEP_SEPARATOR, "kinds": list(kinds)}, TRL_PREFERENCE_V1)


def sft(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Needs view ``sft``."""
    return _table(con, _SFT, {}, TRL_SFT_V1)
