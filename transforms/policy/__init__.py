"""Policy backends: in-process vLLM and an OpenAI-compatible vLLM server client.

``shared_policy(spec)`` returns one engine per process for a given spec (Beam's ``Shared``), so
every DoFn instance, and every pipeline run in the same process, reuses a started engine.
"""

from __future__ import annotations

from apache_beam.utils import shared

from transforms.policy.spec import BACKENDS, DEFAULT_MODEL, PolicySpec

# One handle for the policy: Beam's Shared keeps the engine alive between bundles and pipeline runs
# in this process; the tag (the spec's digest) makes a different spec load a new engine.
_POLICY_HANDLE = shared.Shared()


def build_policy(spec: PolicySpec):
    """Construct the backend named by ``spec`` (expensive: loads a model or connects to a server)."""
    if spec.backend == "vllm":
        from transforms.policy.vllm_backend import VLLMPolicy

        return VLLMPolicy(spec)
    from transforms.policy.openai_backend import OpenAIServerPolicy

    return OpenAIServerPolicy(spec)


def shared_policy(spec: PolicySpec):
    """The per-process policy for ``spec``, built on first use."""
    return _POLICY_HANDLE.acquire(lambda: build_policy(spec), tag=spec.key())


__all__ = ["BACKENDS", "DEFAULT_MODEL", "PolicySpec", "build_policy", "shared_policy"]
