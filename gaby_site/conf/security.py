"""Cookies across subdomains, trusted origins and the Content-Security-Policy, from what ``settings.py`` read."""

from __future__ import annotations

import csp.constants as csp


def cookie_domain(explicit: str, base_domain: str) -> str | None:
    """One login for the MSP portal and every client subdomain, where browsers allow it.

    Browsers refuse a cookie Domain naming a single-label host such as ``localhost``; there each
    subdomain keeps its own session and the signed sign-in hand-off (apps/accounts/handoff.py)
    carries a user between the portal and their clients.
    """
    if explicit:
        return explicit
    return base_domain if "." in base_domain else None


def csrf_trusted_origins(base_domain: str, *, https: bool, port: int) -> list[str]:
    scheme = "https" if https else "http"
    origins = [f"{scheme}://{base_domain}", f"{scheme}://*.{base_domain}"]
    if not https:
        origins += [f"http://{base_domain}:{port}", f"http://*.{base_domain}:{port}"]
    return origins


# Content-Security-Policy (django-csp): scripts, styles and connections come from Gaby itself only, so an injected
# <script>, inline handler or javascript: link never runs; images may also be data: URIs (the TOTP QR code);
# 'self' covers the websockets to the page's own host. No page of Gaby may be framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}
