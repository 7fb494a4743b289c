"""Where a client and the portal are reached: ``<slug>.<base domain>`` and the URLs built on it."""

from __future__ import annotations

from django.conf import settings

from tenants.models import Client


def client_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def site_url(domain: str, *, scheme: str, port: int | str | None) -> str:
    """``scheme://domain[:port]/``, leaving out the default ports."""
    suffix = f":{port}" if port and str(port) not in {"80", "443"} else ""
    return f"{scheme}://{domain}{suffix}/"


def portal_url(*, scheme: str, port: int | str | None) -> str:
    return site_url(settings.BASE_DOMAIN, scheme=scheme, port=port)


def client_url(client: Client, *, scheme: str, port: int | str | None) -> str:
    domain = settings.BASE_DOMAIN if client.is_public else client_domain(client.slug)
    return site_url(domain, scheme=scheme, port=port)
