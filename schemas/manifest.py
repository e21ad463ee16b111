"""Run manifest: one row per run, what produced the shards (``manifest/v1``)."""

import pyarrow as pa

from schemas._fields import documented, versioned

MANIFEST_V1 = versioned("manifest", 1, [
    documented("run_id", pa.string(), "Run id (hash of config, models and input unless given).", nullable=False),
    documented("pipeline", pa.string(), "Pipeline that wrote the run (generate, label, ...).", nullable=False),
    documented("created_at", pa.timestamp("us", tz="UTC"), "When the run finished.", nullable=False),
    documented("code_version", pa.string(), "treemill version and git commit if known.", nullable=False),
    documented("config", pa.string(), "Every pipeline option, as JSON.", nullable=False),
    documented("search", pa.string(), "Search algorithm name."),
    documented("search_config_hash", pa.string(), "Hash of the search config."),
    documented("model_id", pa.string(), "Policy model id or path."),
    documented("model_digest", pa.string(), "SHA-256 over the model's weight and config files (null for a remote server)."),
    documented("verifier", pa.string(), "Verifier name and version."),
    documented("counts", pa.string(), "JSON of counts: read, accepted, dead-lettered, searched, nodes, tokens, correct..."),
    documented("metrics", pa.string(), "JSON of Beam distributions (count, sum, min, max, mean), request-cache hit rates "
                                       "and resume counts (null where the pipeline records none)."),
])
