"""Problems: the input of every search, after ingestion and validation (``problems/v1``)."""

import pyarrow as pa

from schemas._fields import documented, versioned

PROBLEMS_V1 = versioned("problems", 1, [
    documented("problem_id", pa.string(), "Stable id: the source's own id, else a hash of the question.", nullable=False),
    documented("source", pa.string(), "Where the problem came from (file path or HF dataset id and split).", nullable=False),
    documented("question", pa.string(), "The problem statement given to the policy.", nullable=False),
    documented("gold_answer", pa.string(), "The reference final answer (already extracted from the solution).", nullable=False),
    documented("metadata", pa.string(), "JSON object of everything else the source row carried (level, subject, solution, line).", nullable=False),
])
