"""Serve Gaby over ASGI (HTTP + websockets) with uvicorn, logging through Gaby's structured logging.

``python -m gaby_site.serve --host 0.0.0.0 --port 8000``. Django is set up first so uvicorn's own
log lines (errors, start-up) go out as the same JSON lines as everything else (OBS-3).
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GABY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GABY_PORT", "8000")))
    parser.add_argument("--proxy-headers", action="store_true", help="Trust X-Forwarded-* from the proxy in front.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    import django
    import uvicorn

    django.setup()
    uvicorn.run(
        "gaby_site.asgi:application",
        host=args.host,
        port=args.port,
        log_config=None,  # keep the logging Django configured
        access_log=False,  # RequestContextMiddleware logs each request with its id and client
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips="*" if args.proxy_headers else None,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
