"""Reading and writing: problem ingestion, Parquet shards, crash-safe per-problem parts (resume) and the on-disk request cache."""
