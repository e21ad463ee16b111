"""Latency distributions: the wrappers record one value per call, in milliseconds, inside a Beam
pipeline, and ``distributions`` reads them back merged across steps."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.runner.metrics import TimedExecutor, TimedVerifier, distributions
from transforms.protocols import ExecutionResult, Verdict


class FakeVerifier:
    name, version = "fake", "1"

    def verify(self, prediction: str, gold: str) -> Verdict:
        return Verdict(equal=prediction == gold, method="exact")


class FakeExecutor:
    isolation = "none"

    def execute(self, code: str) -> ExecutionResult:
        return self.execute_many([code])[0]

    def execute_many(self, codes):
        # elapsed_s is the sandbox's own measurement; the wrapper records it, not its own clock
        return [ExecutionResult("ok", 0, code, "", False, elapsed_s=0.001 * len(code)) for code in codes]


class VerifyAndRun(beam.DoFn):
    def setup(self):
        self.verifier = TimedVerifier(FakeVerifier())
        self.executor = TimedExecutor(FakeExecutor())

    def process(self, item):
        yield self.verifier.verify(item, "42").equal, [r.stdout for r in self.executor.execute_many([item, item * 2])]


def test_latency_distributions_count_every_call_and_read_back_merged():
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner", "DirectRunner"]))
    _ = pipeline | beam.Create(["42", "7", "123"]) | "a" >> beam.ParDo(VerifyAndRun())
    _ = pipeline | "more" >> beam.Create(["4"]) | "b" >> beam.ParDo(VerifyAndRun())
    result = pipeline.run()
    result.wait_until_finish()
    stats = distributions(result)
    assert stats["verifier_latency_ms"]["count"] == 4
    # sandbox: two runs per item, each recorded as round(1000 * elapsed_s) = the code's length in ms
    assert stats["sandbox_latency_ms"] == {"count": 8, "sum": 2 + 4 + 1 + 2 + 3 + 6 + 1 + 2, "min": 1, "max": 6,
                                           "mean": round(21 / 8, 3)}


def test_wrappers_forward_attributes_and_close():
    closed = []

    class Closing(FakeExecutor):
        def close(self):
            closed.append(True)

    executor = TimedExecutor(Closing())
    assert executor.isolation == "none"
    assert executor.execute("abc").stdout == "abc"  # outside a pipeline the metric is a no-op
    executor.close()
    assert closed == [True]
    assert TimedVerifier(FakeVerifier()).name == "fake"
