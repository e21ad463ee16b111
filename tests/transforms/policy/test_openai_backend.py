"""The OpenAI-server policy against a loopback HTTP server that answers like vLLM's."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transforms.policy import PolicySpec, build_policy
from transforms.protocols import GenerationRequest, SamplingSpec


class _VLLMLikeHandler(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body, self.headers.get("Authorization")))
        choices = [
            {"index": i, "text": f"step {i}\n\nanswer {i}", "finish_reason": "stop",
             "stop_reason": None if i == 0 else "\n\n",
             "logprobs": {"tokens": ["step", f" {i}", "\n\n", "answer", f" {i}"], "token_logprobs": [-0.5] * 5,
                          "top_logprobs": None, "text_offset": [0, 4, 6, 8, 14]}}
            for i in range(body["n"])
        ]
        payload = json.dumps({"id": "x", "object": "text_completion", "created": 0, "model": body["model"],
                              "choices": choices, "usage": {"prompt_tokens": 11, "completion_tokens": 5 * body["n"], "total_tokens": 0}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _VLLMLikeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _VLLMLikeHandler.received = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_backend_sends_sampling_and_maps_the_answer(server, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("TREEMILL_TEST_KEY", "sk-test")
    policy = build_policy(PolicySpec(model="served-model", backend="openai", server_url=server,
                                     tokenizer=tiny_model_dir, api_key_env="TREEMILL_TEST_KEY"))
    requests = [GenerationRequest(f"prompt {k}", SamplingSpec(n=2, max_tokens=9, temperature=0.5, stop=("\n\n",), seed=k))
                for k in range(3)]
    generations = policy.generate(requests)

    assert len(generations) == 3 and all(g.prompt_tokens == 11 for g in generations)
    first = generations[0].samples
    assert [s.finish_reason for s in first] == ["eos", "stop"]  # vLLM's stop_reason None means EOS
    assert first[1].text == "step 1\n\nanswer 1" and first[1].num_tokens == 5
    assert first[1].cumulative_logprob == pytest.approx(-2.5)
    sent = sorted((body["prompt"], body["seed"], body["n"], body["stop"], body["logprobs"], path, auth)
                  for path, body, auth in _VLLMLikeHandler.received)
    assert sent == [(f"prompt {k}", k, 2, ["\n\n"], 1, "/v1/completions", "Bearer sk-test") for k in range(3)]
    assert policy.chat_prompt("Q?", "S").endswith("<|im_start|>assistant\n")


def test_openai_backend_needs_a_server_url():
    with pytest.raises(ValueError, match="--server-url"):
        PolicySpec(backend="openai")
    with pytest.raises(ValueError, match="unknown policy backend"):
        PolicySpec(backend="tgi")


def test_openai_backend_streams_each_response_as_it_arrives(server, tiny_model_dir):
    # submit/poll (the continuous scheduler's way in): every ticket comes back once, with the same answer
    # as generate gives, and a poll with nothing in flight returns nothing.
    from transforms.protocols import StreamingPolicy

    policy = build_policy(PolicySpec(model="served-model", backend="openai", server_url=server,
                                     tokenizer=tiny_model_dir, max_concurrent_requests=2))
    assert isinstance(policy, StreamingPolicy)
    requests = [GenerationRequest(f"prompt {k}", SamplingSpec(n=k + 1, max_tokens=9, seed=k)) for k in range(3)]
    tickets = policy.submit(requests)
    got = {}
    while len(got) < 3:
        for ticket, generation in policy.poll():
            assert ticket not in got
            got[ticket] = generation
    assert policy.poll() == []
    assert [len(got[t].samples) for t in tickets] == [1, 2, 3]
    assert [got[t] for t in tickets] == policy.generate(requests)
    policy.close()
