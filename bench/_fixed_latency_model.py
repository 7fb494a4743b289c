"""The model the investigations benchmark talks to: an OpenAI-compatible HTTP server that answers the
investigation protocol (classify, one tool call, done, verdict) after a fixed delay per call, so the benchmark
measures Gaby's own overhead around a model of known latency."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SQL = "SELECT plan FROM public.bench_customers WHERE id = 1"  # the one tool call the model asks for


class FixedLatencyModel:
    """An OpenAI-compatible server answering the investigation protocol after ``delay`` seconds per call."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in one segment: two small writes would meet the client's delayed ACK.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                time.sleep(model.delay)
                with model._lock:
                    model.calls += 1
                payload = json.dumps(model.answer(body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        if body.get("tools"):
            if "id=T1" in user:
                message["content"] = "DONE"
            else:
                name = next(t["function"]["name"] for t in body["tools"] if t["function"]["name"].endswith("__query"))
                arguments = json.dumps({"sql": SQL})
                message["tool_calls"] = [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
                ]
        elif "concluding the investigation" in system:
            message["content"] = json.dumps(
                {
                    "verdict": "auto_resolved",
                    "confidence": 0.9,
                    "summary": "Plan found [T1] per [K1].",
                    "reply": "You are on the pro plan.",
                    "citations": ["K1", "T1"],
                    "is_infra": False,
                    "infra_evidence": [],
                    "escalation_reason": "",
                }
            )
        else:
            message["content"] = json.dumps({"category": "billing", "priority": "normal", "is_infra": False})
        return {
            "id": "bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}
            ],
            "usage": {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220},
        }

    def close(self) -> None:
        self.server.shutdown()
