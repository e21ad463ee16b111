"""All Arrow schemas, versioned. Every writer in treemill passes one of these explicitly."""

from schemas._fields import field_docs, schema_tag
from schemas.dead_letters import DEAD_LETTERS_V1
from schemas.manifest import MANIFEST_V1
from schemas.nodes import NODES_V1, STEP_KINDS
from schemas.problems import PROBLEMS_V1

__all__ = ["PROBLEMS_V1", "NODES_V1", "STEP_KINDS", "MANIFEST_V1", "DEAD_LETTERS_V1", "field_docs", "schema_tag"]
