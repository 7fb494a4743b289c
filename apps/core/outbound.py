"""The one outbound-URL policy (DESIGN.md §8): where Gaby may connect when a client's settings name a URL.

Crawled pages and their redirects, git remotes, outbound webhooks, the OpenAPI connector's document and API, LLM
base URLs: a client's Admin types these, and Gaby fetches them from inside the install's network, where cloud
metadata (169.254.169.254), Redis on loopback and the intranet would answer. So every such URL goes through
``check_url``: its host is resolved and refused when any address is loopback, link-local, private, shared (CGNAT),
multicast, reserved or unspecified — IPv4 and IPv6 alike, IPv4 hidden inside IPv6 (mapped, NAT64, 6to4) included,
whatever spelling the host uses (``2130706433``, ``0x7f.1``, a trailing dot, full-width digits). Connecting then
goes to the address that was checked (``apps.core.outbound_http`` pins it), so a DNS answer that changes between
check and connect (rebinding) reaches nothing new.

MSP staff (the install's operators) may allow ranges or hosts with ``GABY_OUTBOUND_ALLOW``; the development and
test profiles allow loopback for the demo's and tests' local servers. The production default allows nothing.

This module imports no Django: the OpenAPI connector runs as a standalone process and reads the allow-list from
the environment its host passes (apps/connectors/specs.py).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

ENV_NAME = "GABY_OUTBOUND_ALLOW"
LOOPBACK = ["127.0.0.0/8", "::1/128"]  # what the development and test profiles add
DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
HINT = f"Gaby does not fetch internal addresses. An operator can allow a range with {ENV_NAME}."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that answer with the cloud's instance metadata (credentials included) without being an address.
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)

# First match names the kind of address in the message; anything else that is not globally routable is refused
# as "a non-public address" (the tables of Python's ipaddress differ between patch releases, so they are spelled
# out here rather than relied on).
_REFUSED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), label)
    for net, label in (
        ("169.254.169.254/32", "a link-local (cloud metadata) address"),
        ("100.100.100.200/32", "a cloud metadata address"),  # Alibaba Cloud
        ("fd00:ec2::254/128", "a cloud metadata address"),  # AWS over IPv6
        ("0.0.0.0/8", "an unspecified address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("169.254.0.0/16", "a link-local address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("192.0.0.0/24", "a reserved (IETF protocol) address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a reserved (6to4 relay) address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fe80::/10", "a link-local address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
        ("64:ff9b:1::/48", "a private (local-use NAT64) address"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("2001::/23", "a reserved (IETF protocol) address"),
        ("::/8", "a reserved address"),  # IPv4-compatible ::a.b.c.d among them (mapped ones are unwrapped first)
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")


class OutboundRefused(ValueError):
    """The URL may not be fetched; the message says why and what to change."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url = url


class Unresolvable(OSError):
    """The host has no address right now (DNS failure): not a refusal, the fetch just cannot happen."""


@dataclass(frozen=True)
class VettedURL:
    url: str  # as given
    scheme: str
    host: str  # normalised: lower case, IDNA, no trailing dot, an IP address in its canonical spelling
    port: int
    addresses: tuple[str, ...]  # the checked addresses to connect to; empty when the name did not resolve

    @property
    def netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def normalized(self) -> str:
        """The URL with its host spelled as checked (what a client connecting by name must be given)."""
        parts = urlsplit(self.url.strip())
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if userinfo else "") + self.netloc_host + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))


# --- The operator's allow-list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()  # ".corp.example" from "*.corp.example"

    def allows_host(self, host: str) -> bool:
        return host in self.hosts or any(host.endswith(suffix) for suffix in self.suffixes)

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = [ip, *([inner] if (inner := _embedded_ipv4(ip)[0]) else [])]
        return any(candidate in network for candidate in candidates for network in self.networks)


def parse_allow_list(entries: Iterable[str], *, name: str = ENV_NAME) -> AllowList:
    """CIDR ranges (``10.0.0.0/8``, ``fd00::/8``, a single address) and host names (``ollama.corp.example``,
    ``*.corp.example``); ValueError naming ``name`` and the bad entry otherwise."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    suffixes: list[str] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        wildcard = entry.startswith(("*.", "."))
        host = entry.lstrip("*").lstrip(".").rstrip(".")
        if host and all(_LABEL.fullmatch(label) for label in host.split(".")) and not _looks_numeric(host):
            if wildcard:
                suffixes.append("." + host)
            else:
                hosts.add(host)
            continue
        raise ValueError(
            f"{name}: {raw.strip()!r} is neither a CIDR range (10.0.0.0/8, fd00::/8, 192.0.2.7) nor a host name "
            "(ollama.corp.example, *.corp.example)."
        )
    return AllowList(tuple(networks), frozenset(hosts), tuple(suffixes))


def allow_list_setting(entries: list[str], *, loopback: bool) -> list[str]:
    """What settings.OUTBOUND_ALLOW holds: the variable's entries (read by apps/core/env.py), checked, plus
    loopback for the development and test profiles. ValueError naming the variable for a bad entry."""
    parse_allow_list(entries)
    return [*entries, *(entry for entry in LOOPBACK if loopback and entry not in entries)]


def _env_entries() -> list[str]:
    """A first-party MCP server's allow-list: its host passes the resolved setting in the environment."""
    return [item.strip() for item in os.environ.get(ENV_NAME, "").split(",") if item.strip()]


def allow_list() -> AllowList:
    """The install's allow-list: Django's ``settings.OUTBOUND_ALLOW`` in Gaby's processes (tests override it),
    else the environment (a first-party MCP server, which runs without Django)."""
    conf = sys.modules.get("django.conf")
    settings = getattr(conf, "settings", None)
    if settings is not None and settings.configured:
        return _parsed(tuple(getattr(settings, "OUTBOUND_ALLOW", ())))
    return _parsed(tuple(_env_entries()))


@lru_cache(maxsize=16)
def _parsed(entries: tuple[str, ...]) -> AllowList:
    return parse_allow_list(entries)


# --- Addresses and hosts -------------------------------------------------------------------------------------


def _embedded_ipv4(ip: IPAddress) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address an IPv6 one carries to an IPv4 host: mapped (::ffff:a.b.c.d), NAT64, 6to4."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None, ""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    return None, ""


def classify(ip: IPAddress) -> str | None:
    """Why Gaby must not connect to ``ip`` (e.g. "a loopback address"), or None for a public address."""
    inner, how = _embedded_ipv4(ip)
    if inner is not None:
        reason = classify(inner)
        return f"{reason} ({how} {inner})" if reason else None
    for network, label in _REFUSED:
        if ip.version == network.version and ip in network:
            return label
    return None if ip.is_global else "a non-public address"


def _looks_numeric(host: str) -> bool:
    """A host whose last label is a number is an IPv4 address to browsers and to getaddrinfo (WHATWG URL)."""
    return bool(_NUMBER.fullmatch(host.rsplit(".", 1)[-1]))


def _ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``: what inet_aton makes of them; None if invalid."""
    labels = host.split(".")
    if len(labels) > 4 or not all(_NUMBER.fullmatch(label) for label in labels):
        return None
    numbers = []
    for label in labels:
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            if not set(label) <= set("01234567"):
                return None
            numbers.append(int(label, 8))
        else:
            numbers.append(int(label))
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1] + sum(number << (8 * (3 - index)) for index, number in enumerate(numbers[:-1]))
    return ipaddress.IPv4Address(value)


def normalize_host(url: str, hostname: str | None) -> tuple[str, IPAddress | None]:
    """The host as Gaby will look it up, and its address when the URL spells one."""
    if not hostname:
        raise OutboundRefused(url, f"{url} names no host: give a full URL such as https://example.com/.")
    if ":" in hostname:  # an IPv6 literal ([...] in the URL); a zone id (%eth0) only ever names a link-local one
        try:
            ip = ipaddress.ip_address(hostname.split("%", 1)[0])
        except ValueError:
            raise OutboundRefused(url, f"{url} has an invalid IPv6 address.") from None
        return str(ip), ip
    host = hostname.removesuffix(".")
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        host = ""
    if host and _looks_numeric(host):
        number = _ipv4_number(host)
        if number is None:
            raise OutboundRefused(url, f"{url}: {hostname!r} is neither a host name nor an IPv4 address.")
        return str(number), number
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise OutboundRefused(url, f"{url}: {hostname!r} is not a valid host name.")
    return host, None


def resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to, in the resolver's order; Unresolvable if none."""
    if host == "localhost" or host.endswith(".localhost"):
        return ("127.0.0.1", "::1")  # RFC 6761: loopback without asking DNS (as curl and browsers do)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from None
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host} does not resolve.")
    return tuple(addresses)


def check_url(url: str, *, schemes: Sequence[str] = ("http", "https"), require_address: bool = False) -> VettedURL:
    """Resolve ``url``'s host and refuse it (OutboundRefused) unless every address is public or allowed.

    ``require_address``: just before connecting, a name that does not resolve raises Unresolvable. Otherwise
    (saving a setting) it is accepted with no addresses: the fetch checks again, and an install without DNS
    for the outside world can still be configured.
    """
    url = url.strip()
    shown = url if len(url) <= 200 else url[:200] + "…"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise OutboundRefused(url, f"{shown}: the URL must start with {wanted}.")
    host, literal = normalize_host(shown, parts.hostname)
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise OutboundRefused(url, f"{shown} has an invalid port.") from None
    allowed = allow_list()
    if allowed.allows_host(host):  # the operator vouches for this name, whatever it resolves to
        try:
            addresses = (str(literal),) if literal else resolve(host, port)
        except Unresolvable:
            if require_address:
                raise
            addresses = ()
        return VettedURL(url, scheme, host, port, addresses)
    if literal is not None:
        addresses = (str(literal),)
    elif host in METADATA_HOSTS:
        raise OutboundRefused(url, f"{shown} names {host}, a cloud metadata host; {HINT}")
    else:
        try:
            addresses = resolve(host, port)
        except Unresolvable:
            if require_address:
                raise
            addresses = ()
    for address in addresses:
        ip = ipaddress.ip_address(address)
        reason = classify(ip)
        if reason is not None and not allowed.allows_address(ip):
            raise OutboundRefused(url, f"{shown} resolves to {address}, {reason}; {HINT}")
    return VettedURL(url, scheme, host, port, addresses)
