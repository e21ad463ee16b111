"""Latency distributions in Beam's metrics API, recorded by thin wrappers around the protocols.

Beam distributions hold integers (count, sum, min, max), so latencies are recorded in
milliseconds. Outside a running DoFn Beam's metrics are no-ops, so the wrappers are safe anywhere.
"""

from __future__ import annotations

import time
from typing import Sequence

from apache_beam.metrics import Metrics

from transforms.protocols import ExecutionResult, Verdict

NAMESPACE = "treemill"


class TimedVerifier:
    """A Verifier that records each verification's wall time in ``verifier_latency_ms``."""

    def __init__(self, verifier):
        self.verifier = verifier
        self.name, self.version = verifier.name, verifier.version
        self.latency = Metrics.distribution(NAMESPACE, "verifier_latency_ms")

    def __getattr__(self, name):
        return getattr(self.verifier, name)

    def verify(self, prediction: str, gold: str) -> Verdict:
        start = time.perf_counter()
        try:
            return self.verifier.verify(prediction, gold)
        finally:
            self.latency.update(round(1000 * (time.perf_counter() - start)))

    def close(self) -> None:
        close = getattr(self.verifier, "close", None)
        if close:
            close()


class TimedExecutor:
    """An Executor that records every sandbox run's own elapsed time in ``sandbox_latency_ms``."""

    def __init__(self, executor):
        self.executor = executor
        self.latency = Metrics.distribution(NAMESPACE, "sandbox_latency_ms")

    def __getattr__(self, name):  # limits, isolation, ... of the wrapped executor
        return getattr(self.executor, name)

    def execute(self, code: str) -> ExecutionResult:
        return self._record([self.executor.execute(code)])[0]

    def execute_many(self, codes: Sequence[str]) -> list[ExecutionResult]:
        return self._record(self.executor.execute_many(codes))

    def _record(self, results: list[ExecutionResult]) -> list[ExecutionResult]:
        for result in results:
            self.latency.update(round(1000 * result.elapsed_s))
        return results

    def close(self) -> None:
        close = getattr(self.executor, "close", None)
        if close:
            close()


def distributions(result, namespace: str = NAMESPACE) -> dict[str, dict]:
    """Final values of the pipeline's distributions: {name: {count, sum, min, max, mean}}."""
    from apache_beam.metrics.metric import MetricsFilter

    merged: dict[str, dict] = {}
    for dist in result.metrics().query(MetricsFilter().with_namespace(namespace))["distributions"]:
        value = dist.committed if dist.committed is not None else dist.attempted
        if value is None or not value.count:
            continue
        name = dist.key.metric.name
        old = merged.get(name)
        if old is None:
            merged[name] = {"count": value.count, "sum": value.sum, "min": value.min, "max": value.max}
        else:
            merged[name] = {"count": old["count"] + value.count, "sum": old["sum"] + value.sum,
                            "min": min(old["min"], value.min), "max": max(old["max"], value.max)}
    for stats in merged.values():
        stats["mean"] = round(stats["sum"] / stats["count"], 3)
    return merged
