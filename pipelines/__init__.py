"""Beam pipelines, one per file, each with ``run(argv=None)``.

Importing Beam logs "apitools not found" (an optional Google Cloud client) before any ``run()`` has
decided where logs go; with no handler on the root logger, Python would print it on the console.
``IMPORT_LOG`` holds such import-time records until ``pipelines.common.quiet_console`` writes
them to the run's log file (or, with ``--verbose``, to the console). It is attached only when the
root logger has no handler, so an application's own logging set-up is left alone.
"""

import logging
from logging.handlers import MemoryHandler

IMPORT_LOG = MemoryHandler(capacity=100, flushLevel=logging.CRITICAL + 1)
if not logging.getLogger().handlers:
    logging.getLogger().addHandler(IMPORT_LOG)
