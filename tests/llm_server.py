"""A scripted OpenAI-compatible HTTP server for tests: real HTTP, real litellm, no API key.

Each POST /v1/chat/completions takes the next step of the script (POST /v1/embeddings is always
answered, with deterministic bag-of-words vectors: texts sharing words get similar vectors):
``Reply(text, tool_calls, usage)`` answers (as SSE chunks when the request asked to stream),
``Fail(status)`` answers an error status, ``Slow(seconds, then)`` waits first. Every request body
and its headers are kept in ``requests`` so tests can assert on exactly what left Gaby.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name": ..., "arguments": {...}}]
    usage: tuple[int, int] = (20, 10)


@dataclass
class Fail:
    status: int
    message: str = "scripted failure"
    retry_after: int | None = None


@dataclass
class Slow:
    seconds: float
    then: Reply | Fail


Step = Reply | Fail | Slow


class ScriptedLLM:
    def __init__(self) -> None:
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.embedding_requests: list[dict[str, Any]] = []  # POST /v1/embeddings: answered, never scripted
        self.embedding_size: int | None = None  # answer this size whatever was asked (a model that cannot shorten)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def then(self, *steps: Step) -> ScriptedLLM:
        self.script.extend(steps)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Step:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            return self.script.pop(0) if self.script else Fail(500, "the test script is exhausted")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/").endswith("/embeddings"):
                    with outer._lock:
                        outer.embedding_requests.append(body)
                    self._json(200, _embeddings(body, outer.embedding_size))
                    return
                step = outer._next(body, {k.lower(): v for k, v in self.headers.items()})
                if isinstance(step, Slow):
                    time.sleep(step.seconds)
                    step = step.then
                if isinstance(step, Fail):
                    self._json(step.status, {"error": {"message": step.message, "type": "scripted"}}, step.retry_after)
                elif body.get("stream"):
                    self._stream(body, step)
                else:
                    self._json(200, _completion(body, step))

            def _json(self, status: int, payload: dict[str, Any], retry_after: int | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in stream_events(body, reply):
                    self.wfile.write(event)
                    self.wfile.flush()

        return Handler


def stream_events(body: dict[str, Any], reply: Reply) -> list[bytes]:
    """The server-sent events of a streamed completion: the text word by word, the finish, the usage, ``[DONE]``.
    Also what bench/stream_llm.py streams, so the load benchmark's model speaks exactly the tests' wire format."""
    words = reply.text.split(" ")
    pieces = [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]
    chunks = [_chunk(body, {"content": piece}) for piece in pieces] + [_chunk(body, {}, finish="stop")]
    prompt, completion = reply.usage
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    chunks.append({**_chunk(body, {}), "choices": [], "usage": usage})
    return [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    prompt, completion = reply.usage
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def embedding_of(text: str, dimensions: int) -> list[float]:
    """Each word adds 1 to a slot chosen by a stable hash of it; L2-normalised."""
    import hashlib
    import math
    import re

    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _embeddings(body: dict[str, Any], size: int | None = None) -> dict[str, Any]:
    texts = body.get("input") or []
    texts = [texts] if isinstance(texts, str) else texts
    dimensions = size or int(body.get("dimensions") or 384)
    data = [{"object": "embedding", "index": i, "embedding": embedding_of(t, dimensions)} for i, t in enumerate(texts)]
    tokens = sum(len(str(t).split()) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
