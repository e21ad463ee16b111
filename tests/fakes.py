"""Fakes with the shape of the protocols, for unit tests (the real engine has its own tests)."""

from __future__ import annotations

from typing import Callable, Sequence

from transforms.protocols import Generation, GenerationRequest, Sample, Verdict


class ScriptedPolicy:
    """Answers each request from ``respond(prompt, sample_index, seed) -> text``; records every call."""

    model_id = "scripted"

    def __init__(self, respond: Callable[[str, int, int | None], str], finish_reason: str = "eos"):
        self.respond, self.finish_reason = respond, finish_reason
        self.calls: list[list[GenerationRequest]] = []

    def chat_prompt(self, question: str, system: str | None = None) -> str:
        return f"<sys>{system or ''}</sys><q>{question}</q>\n"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.calls.append(list(requests))
        out = []
        for request in requests:
            samples = []
            for i in range(request.sampling.n):
                text = self.respond(request.prompt, i, request.sampling.seed)
                tokens = tuple(text.split(" ")) if text else ()
                token_texts = tuple(t + " " for t in tokens[:-1]) + tokens[-1:]
                samples.append(Sample(text=text, num_tokens=len(tokens), finish_reason=self.finish_reason,
                                      cumulative_logprob=-0.5 * len(tokens), token_texts=token_texts,
                                      token_logprobs=tuple(-0.5 for _ in tokens)))
            out.append(Generation(samples=tuple(samples), prompt_tokens=len(request.prompt.split())))
        return out


class ExactVerifier:
    """Extracts the text after the last 'answer:' and compares strings."""

    name, version = "exact", "1"

    def verify(self, prediction: str, gold: str) -> Verdict:
        if "answer:" not in prediction:
            return Verdict(equal=None, method="no_answer")
        answer = prediction.rsplit("answer:", 1)[1].strip()
        return Verdict(equal=answer == gold, method="string", extracted=answer, extraction_method="answer_is")
