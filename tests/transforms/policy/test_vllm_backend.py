"""The in-process vLLM policy on the tiny model (real engine, shared per test session)."""

from transforms.protocols import GenerationRequest, Policy, SamplingSpec


def test_generate_returns_samples_with_token_detail(tiny_policy):
    assert isinstance(tiny_policy, Policy)
    prompt = tiny_policy.chat_prompt("What is 2+3?", "Think.")
    assert prompt.startswith("<|im_start|>system\nThink.<|im_end|>") and prompt.endswith("<|im_start|>assistant\n")
    requests = [GenerationRequest(prompt, SamplingSpec(n=3, max_tokens=12, temperature=1.0, seed=5)),
                GenerationRequest(prompt + "Step", SamplingSpec(n=1, max_tokens=4, temperature=0.0, logprobs=False))]
    first, second = tiny_policy.generate(requests)
    assert len(first.samples) == 3 and len(second.samples) == 1
    for sample in first.samples:
        assert 1 <= sample.num_tokens <= 12 and sample.finish_reason in ("length", "eos", "stop")
        assert len(sample.token_texts) == len(sample.token_logprobs) == sample.num_tokens
        assert abs(sum(sample.token_logprobs) - sample.cumulative_logprob) < 1e-3
    assert second.samples[0].token_texts is None
    assert first.prompt_tokens > 5 and second.prompt_tokens >= first.prompt_tokens


def test_seeded_requests_repeat_and_prefix_cache_serves_shared_prompts(tiny_policy):
    prompt = tiny_policy.chat_prompt("A long shared question " * 20)
    request = GenerationRequest(prompt, SamplingSpec(n=2, max_tokens=16, temperature=1.0, seed=123))
    a = tiny_policy.generate([request])[0]
    b = tiny_policy.generate([request])[0]
    assert [s.text for s in a.samples] == [s.text for s in b.samples]
    assert b.cached_prompt_tokens and b.cached_prompt_tokens >= b.prompt_tokens // 2
