"""A scripted OpenAI-compatible model for load benchmarks: every streamed completion waits a fixed time, then
streams a fixed answer word by word. Asynchronous (aiohttp), run in its own process so its work does not
share the benchmark client's interpreter; thousands of streams at once cost it almost nothing.

    .venv/bin/python bench/stream_llm.py --port 8765 --first-token-ms 300 --answer "text"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from aiohttp import web


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip
    return f"data: {json.dumps(payload)}\n\n".encode()


def make_app(first_token_seconds: float, answer: str) -> web.Application:
    words = answer.split(" ")
    pieces = [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]

    async def completions(request: web.Request) -> web.StreamResponse:
        await request.read()
        await asyncio.sleep(first_token_seconds)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(_chunk({"content": piece}))
        await response.write(_chunk({}, finish="stop"))
        usage = {"prompt_tokens": 20, "completion_tokens": len(pieces), "total_tokens": 20 + len(pieces)}
        await response.write(f"data: {json.dumps({'choices': [], 'usage': usage, 'model': 'bench'})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token-ms", type=float, default=300)
    parser.add_argument("--answer", required=True)
    args = parser.parse_args()
    app = make_app(args.first_token_ms / 1000, args.answer)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, backlog=4096, access_log=None)


if __name__ == "__main__":
    main()
