"""git remotes under the outbound-URL policy (apps/core/outbound.py): the knowledge git reader and the code connector.

git connects by itself, so the policy cannot sit in a transport as it does for httpx (apps/core/outbound_http.py).
Instead each clone or fetch checks the remote just before, and hands git ``-c`` settings: only the remote's own
protocol, and over http(s) curl is given the checked addresses (a DNS answer changed since the check is never used)
and follows no redirect (another host would be looked up unchecked). ssh and git remotes are checked just before
git connects by name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from apps.core.outbound import VettedURL, check_url

NETWORK_SCHEMES = ("https", "http", "ssh", "git")
# scp-like syntax, as git reads it: [user@]host:path, where the path does not start with a slash pair
SCP_LIKE = re.compile(r"^(?:(?P<user>[\w.+-]+)@)?(?P<host>[\w.-]+|\[[0-9a-fA-F:.]+\]):(?!//)(?P<path>.*)$")


def as_url(remote: str) -> str:
    """``remote`` as a URL: scp-like ``git@host:org/repo.git`` becomes ``ssh://git@host/org/repo.git``."""
    if "://" in remote:
        return remote
    match = SCP_LIKE.match(remote)
    if not match:
        return remote
    user = f"{match['user']}@" if match["user"] else ""
    return f"ssh://{user}{match['host']}/{match['path'].lstrip('/')}"


def check_remote(remote: str, *, require_address: bool = False) -> VettedURL:
    """Raise OutboundRefused (or Unresolvable with ``require_address``) for a remote the policy does not allow."""
    return check_url(as_url(remote), schemes=NETWORK_SCHEMES, require_address=require_address)


def network_options(remote: str) -> tuple[str, list[str]]:
    """``remote`` to hand git (its host spelled as checked, for http(s)) and the ``git -c`` settings to reach it."""
    url = as_url(remote)
    scheme = urlsplit(url).scheme
    options = ["protocol.allow=never", f"protocol.{scheme}.allow=always"]
    if scheme == "file":
        return remote, options
    vetted = check_remote(remote, require_address=True)
    if scheme not in {"http", "https"}:
        return remote, options  # git resolves the name itself, right after this check
    options.append("http.followRedirects=false")
    if vetted.addresses != (vetted.host,):  # a name, not an address: curl must not look it up again
        addresses = ",".join(f"[{a}]" if ":" in a else a for a in vetted.addresses)
        options.append(f"http.curloptResolve={vetted.host}:{vetted.port}:{addresses}")
    return vetted.normalized(), options  # curl matches the pinned host as spelled here


def config_args(options: list[str]) -> list[str]:
    """``-c name=value`` pairs for the git command line."""
    return [arg for option in options for arg in ("-c", option)]
