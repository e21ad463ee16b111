"""Where a search runs: the Beam step that searches a batch of problems, its metric wrappers and its progress line."""
