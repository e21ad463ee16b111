"""Dead letters: every record that a stage could not process, with the reason (``dead_letters/v1``).

Nothing is dropped silently: ``read = accepted + dead-lettered`` at ingestion, and
``accepted = searched + dead-lettered`` at search.
"""

import pyarrow as pa

from schemas._fields import documented, versioned

DEAD_LETTERS_V1 = versioned("dead_letters", 1, [
    documented("stage", pa.string(), "Pipeline stage that rejected the record (read, validate, search, ...).", nullable=False),
    documented("reason", pa.string(), "Why it was rejected, in words.", nullable=False),
    documented("record_id", pa.string(), "The record's id if it had one (problem_id, or file:line).", nullable=True),
    documented("record", pa.string(), "The rejected record, as JSON (truncated to 10,000 characters).", nullable=False),
])
