import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
import apache_beam as beam

from schemas import DEAD_LETTERS_V1
from transforms.io.shards import WriteShards, clear_shards, shard_name, shard_of


def test_shard_of_is_stable_and_in_range():
    assert shard_of("gsm8k-train-00001", 4) == shard_of("gsm8k-train-00001", 4)
    assert {shard_of(f"p{i}", 3) for i in range(100)} == {0, 1, 2}
    assert shard_name("nodes", 2, 16) == "nodes-00002-of-00016.parquet"


def test_write_shards_writes_sorted_rows_with_the_schema_and_no_temp_files(tmp_path):
    rows = [{"stage": "s", "reason": r, "record_id": r, "record": "{}"} for r in "dcba"]
    with TestPipeline() as p:
        _ = (p | beam.Create([(r["record_id"], [r]) for r in rows])
             | WriteShards(str(tmp_path), "dead_letters", DEAD_LETTERS_V1, 2, ("record_id",)))
    files = sorted(tmp_path.iterdir())
    assert all(f.name.endswith("-of-00002.parquet") for f in files)
    tables = [pq.read_table(f) for f in files]
    assert sum(t.num_rows for t in tables) == 4
    for table in tables:
        assert table.schema.equals(DEAD_LETTERS_V1, check_metadata=False)
        ids = table.column("record_id").to_pylist()
        assert ids == sorted(ids)
    (tmp_path / "dead_letters-00009-of-00010.parquet").write_bytes(b"stale")
    clear_shards(str(tmp_path), "dead_letters")
    assert list(tmp_path.iterdir()) == []
    assert pa.__version__
