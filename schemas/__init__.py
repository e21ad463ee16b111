"""All Arrow schemas, versioned. Every writer in treemill passes one of these explicitly."""

from schemas._fields import field_docs, schema_tag
from schemas.dead_letters import DEAD_LETTERS_V1
from schemas.labels import (PAIR_KINDS, PAIRS_V1, PRM_LABELS, SFT_V1, STEPS_V1, TRL_PREFERENCE_V1, TRL_SFT_V1,
                            TRL_STEPWISE_V1)
from schemas.manifest import MANIFEST_V1
from schemas.nodes import CODE_FAILURE_METHODS, NODES_V1, STEP_KINDS, TERMINAL_REWARD_Q, UNFINISHED_METHODS
from schemas.problems import PROBLEMS_V1

__all__ = ["PROBLEMS_V1", "NODES_V1", "STEP_KINDS", "TERMINAL_REWARD_Q", "UNFINISHED_METHODS", "CODE_FAILURE_METHODS", "MANIFEST_V1", "DEAD_LETTERS_V1", "field_docs", "schema_tag",
           "STEPS_V1", "PAIRS_V1", "SFT_V1", "PAIR_KINDS", "PRM_LABELS",
           "TRL_STEPWISE_V1", "TRL_PREFERENCE_V1", "TRL_SFT_V1"]
