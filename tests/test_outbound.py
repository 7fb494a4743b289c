"""The one outbound-URL policy (apps/core/outbound.py, DESIGN.md §8): what is refused in every spelling, the
operator's allow-list, and connecting to the address that was checked (DNS rebinding, redirects, TLS names).

The test profile allows loopback for the tests' local servers; each test here sets the allow-list itself, most
to the production default (nothing)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused, Unresolvable, check_url, classify, parse_allow_list
from tests.outbound_helpers import PUBLIC_IP, FakeDNS, self_signed, serve, serve_pair
from tests.test_settings_profiles import ROOT, _run

HINT = "Gaby does not fetch internal addresses. An operator can allow a range with GABY_OUTBOUND_ALLOW."


@pytest.fixture
def production(settings: Any) -> Any:
    settings.OUTBOUND_ALLOW = []  # the production default
    return settings


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address (IPv4-mapped 127.0.0.1)"),
        ("::ffff:169.254.169.254", "a link-local (cloud metadata) address (IPv4-mapped 169.254.169.254)"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("169.254.169.254", "a link-local (cloud metadata) address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fd00::1", "a private (unique local) address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("10.1.2.3", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.0.1", "a private address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("255.255.255.255", "a reserved address"),
        ("64:ff9b::a9fe:a9fe", "a link-local (cloud metadata) address (NAT64 169.254.169.254)"),
        ("2002:7f00:1::", "a loopback address (6to4 127.0.0.1)"),
        ("::7f00:1", "a reserved address"),  # IPv4-compatible ::127.0.0.1
        ("2001:db8::1", "a documentation address"),
    ],
)
def test_internal_addresses_are_classified(address: str, reason: str) -> None:
    assert classify(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", PUBLIC_IP, "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_the_refusal_says_what_and_how_to_fix_it(production: Any) -> None:
    with pytest.raises(OutboundRefused) as refused:
        check_url("http://169.254.169.254/")
    assert str(refused.value) == (
        "http://169.254.169.254/ resolves to 169.254.169.254, a link-local (cloud metadata) address; " + HINT
    )
    assert refused.value.url == "http://169.254.169.254/" and isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254, a link-local (cloud metadata)"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal, a cloud metadata host"),
        ("http://metadata.google.internal./", "metadata.google.internal, a cloud metadata host"),
        ("http://METADATA.goog/", "metadata.goog, a cloud metadata host"),
        ("http://[::1]:8000/", "resolves to ::1, a loopback address"),
        ("http://0.0.0.0:6379/", "resolves to 0.0.0.0, an unspecified address"),
        ("http://[::]:6379/", "resolves to ::, an unspecified address"),
        ("http://2130706433/", "resolves to 127.0.0.1, a loopback"),  # decimal
        ("http://0177.0.0.1/", "resolves to 127.0.0.1, a loopback"),  # octal
        ("http://0x7f.0.0.1/", "resolves to 127.0.0.1, a loopback"),  # hex
        ("http://0x7f000001/", "resolves to 127.0.0.1, a loopback"),
        ("http://127.1/", "resolves to 127.0.0.1, a loopback"),
        ("http://0xA9FEA9FE/", "resolves to 169.254.169.254"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address (IPv4-mapped 127.0.0.1)"),
        ("http://[::ffff:a9fe:a9fe]/", "(IPv4-mapped 169.254.169.254)"),
        ("http://localhost/", "resolves to 127.0.0.1, a loopback"),
        ("http://localhost./", "resolves to 127.0.0.1, a loopback"),  # trailing dot
        ("http://redis.localhost:6379/", "resolves to 127.0.0.1, a loopback"),
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "resolves to 127.0.0.1, a loopback"),  # full-width
        ("http://100.64.0.1/", "a shared (carrier-grade NAT) address"),
        ("http://[fd00::1]/", "a private (unique local) address"),
        ("https://[fe80::1%25eth0]/", "a link-local address"),
        ("http://10.0.0.1:8080/admin", "a private address"),
        ("http://[64:ff9b::7f00:1]/", "(NAT64 127.0.0.1)"),
    ],
)
def test_every_spelling_of_an_internal_host_is_refused(production: Any, url: str, said: str) -> None:
    with pytest.raises(OutboundRefused, match="GABY_OUTBOUND_ALLOW") as refused:
        check_url(url)
    assert said in str(refused.value)


@pytest.mark.parametrize("url", ["http://256.1/", "http://foo.123/", "http://%31%32%37.0.0.1/", "http:///x"])
def test_hosts_that_are_neither_names_nor_addresses_are_refused(production: Any, url: str) -> None:
    with pytest.raises(OutboundRefused):
        check_url(url)


def test_a_name_is_refused_when_any_of_its_addresses_is_internal(production: Any, dns: FakeDNS) -> None:
    dns.answer("mixed.example", [PUBLIC_IP, "10.0.0.5"])
    with pytest.raises(OutboundRefused, match=r"resolves to 10\.0\.0\.5, a private address"):
        check_url("https://mixed.example/")
    dns.answer("docs.example", [PUBLIC_IP, "2606:4700:4700::1111"])
    vetted = check_url("https://Docs.Example./kb/")
    assert (vetted.host, vetted.port, vetted.addresses) == ("docs.example", 443, (PUBLIC_IP, "2606:4700:4700::1111"))


def test_a_name_without_an_answer_is_kept_when_saving_but_never_connected(production: Any, dns: FakeDNS) -> None:
    dns.answer("later.example", [])
    assert check_url("https://later.example/").addresses == ()  # an install without outside DNS can save it
    with pytest.raises(Unresolvable):
        check_url("https://later.example/", require_address=True)
    with outbound_http.client() as http, pytest.raises(httpx.ConnectError, match="does not resolve"):
        http.get("https://later.example/")


def test_the_allow_list_lets_ranges_and_names_through(settings: Any, dns: FakeDNS) -> None:
    settings.OUTBOUND_ALLOW = ["10.20.0.0/16", "fd12::/16", "ollama.corp.example", "*.git.corp.example"]
    dns.answer("ollama.corp.example", ["192.168.7.7"])
    dns.answer("gitlab.git.corp.example", ["10.99.0.1"])
    dns.answer("wiki.corp.example", ["192.168.7.7"])
    for url in (
        "http://10.20.1.2/",
        "http://[::ffff:10.20.1.2]/",
        "http://[fd12::1]/",
        "http://ollama.corp.example:11434/",
        "https://gitlab.git.corp.example/runbooks.git",
    ):
        assert check_url(url).addresses, url
    for url in ("http://10.21.0.1/", "http://wiki.corp.example/", "http://git.corp.example/", "http://[::1]/"):
        dns.answer("git.corp.example", ["10.99.0.2"])
        with pytest.raises(OutboundRefused):
            check_url(url)


def test_an_allowed_range_is_reached_and_nothing_else(settings: Any) -> None:
    with serve("127.0.0.1") as server:
        settings.OUTBOUND_ALLOW = ["127.0.0.1/32"]
        with outbound_http.client() as http:
            assert http.get(server.url("/allowed")).text == "answered by 127.0.0.1"
        for allowed in ([], ["::1/128", "127.0.0.2/32"]):
            settings.OUTBOUND_ALLOW = allowed
            with outbound_http.client() as http, pytest.raises(OutboundRefused, match="loopback"):
                http.get(server.url("/refused"))
    assert server.paths == ["/allowed"]


def test_bad_allow_list_entries_name_the_variable() -> None:
    assert parse_allow_list(["10.0.0.0/8", " fd00::/8 ", "192.0.2.7", "ollama.lan", "*.corp.example", ""]).networks
    for bad in ("10.0.0.0/33", "not a host", "http://10.0.0.1/", "127.1"):
        with pytest.raises(ValueError, match=r"GABY_OUTBOUND_ALLOW: .* is neither a CIDR range"):
            parse_allow_list([bad])


def test_production_allows_nothing_and_development_only_loopback() -> None:
    show = ["manage.py", "shell", "-c", "from django.conf import settings; print(settings.OUTBOUND_ALLOW)"]
    key = "k" * 64
    assert _run(show, GABY_ENV="production", SECRET_KEY=key).stdout.split("\n")[-2] == "[]"
    development = _run(show, GABY_ENV="development", GABY_OUTBOUND_ALLOW="10.20.0.0/16")
    assert development.stdout.split("\n")[-2] == "['10.20.0.0/16', '127.0.0.0/8', '::1/128']"
    bad = _run(["manage.py", "check"], GABY_ENV="development", GABY_OUTBOUND_ALLOW="10.0.0.0/8,intranet please")
    assert bad.returncode != 0 and "GABY_OUTBOUND_ALLOW: 'intranet please' is neither a CIDR range" in bad.stderr


def test_the_policy_works_without_django_for_the_stdio_servers() -> None:
    """The OpenAPI connector runs as its own process, with the allow-list in its environment."""
    script = (
        "import sys; from apps.core.outbound_http import client; from apps.core.outbound import check_url\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'Django imported'\n"
        "try:\n    check_url('http://127.0.0.1:6379/'); print('allowed')\n"
        "except ValueError as exc:\n    print(exc)\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
    run = [sys.executable, "-c", script]
    refused = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "a loopback address" in refused.stdout, refused.stderr
    allowed = subprocess.run(
        run, cwd=ROOT, env={**env, "GABY_OUTBOUND_ALLOW": "127.0.0.0/8"}, capture_output=True, text=True, timeout=60
    )
    assert allowed.stdout.strip() == "allowed", allowed.stderr


def test_dns_rebinding_reaches_only_the_address_checked(production: Any, dns: FakeDNS) -> None:
    """The name answers a public address when checked and 127.0.0.1 on any later lookup: Gaby connects to the
    public address it checked (routed here to a local stand-in), never looks the name up again."""
    with serve_pair() as (public, internal):
        dns.answer("rebind.example", [PUBLIC_IP], ["127.0.0.1"])
        dns.routes[PUBLIC_IP] = public.host  # the public address "is" the stand-in on 127.0.0.2
        url = f"http://rebind.example:{public.port}/hook"
        with outbound_http.client() as http:
            response = http.post(url, json={"event": "ticket.created"})
        assert response.text == "answered by 127.0.0.2" and str(response.url) == url
        assert public.requests == [("/hook", f"rebind.example:{public.port}")]  # the name kept in Host
        assert internal.requests == [] and dns.lookups == ["rebind.example"]
        with outbound_http.client() as http, pytest.raises(OutboundRefused, match=r"127\.0\.0\.1, a loopback"):
            http.post(url)  # the next check sees the new answer: refused, not connected
        assert internal.requests == []


def test_tls_keeps_the_name_for_sni_and_the_certificate(settings: Any, dns: FakeDNS, tmp_path: Path) -> None:
    server_tls, trust = self_signed(tmp_path, "docs.example")
    settings.OUTBOUND_ALLOW = ["127.0.0.2/32"]
    dns.answer("docs.example", ["127.0.0.2"])
    dns.answer("other.example", ["127.0.0.2"])
    with serve("127.0.0.2", tls=server_tls) as server, outbound_http.client(verify=trust) as http:
        assert http.get(server.url("/kb/", scheme="https", host="docs.example")).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            http.get(server.url("/kb/", scheme="https", host="other.example"))  # verified against the name
    assert server.sni[0] == "docs.example" and server.requests == [("/kb/", f"docs.example:{server.port}")]


def test_each_redirect_hop_is_checked(settings: Any) -> None:
    settings.OUTBOUND_ALLOW = ["127.0.0.2/32"]  # the "public" site; 127.0.0.1 stays refused
    with serve("127.0.0.2") as site, serve("127.0.0.1") as internal:
        secret = internal.url("/latest/meta-data/")
        site.routes["/go"] = (302, {"Location": secret}, b"")
        site.routes["/hop"] = (301, {"Location": "/go"}, b"")
        with outbound_http.client(follow_redirects=True) as http, pytest.raises(OutboundRefused) as refused:
            http.get(site.url("/hop"))
        assert refused.value.url == secret and "127.0.0.1, a loopback address" in str(refused.value)
    assert site.paths == ["/hop", "/go"] and internal.requests == []


async def test_the_async_client_checks_and_pins_too(settings: Any) -> None:
    settings.OUTBOUND_ALLOW = ["127.0.0.2/32"]
    with serve("127.0.0.2") as site, serve("127.0.0.1") as internal:
        site.routes["/go"] = (302, {"Location": internal.url("/")}, b"")
        async with outbound_http.async_client(follow_redirects=True) as http:
            assert (await http.get(site.url("/ok"))).text == "answered by 127.0.0.2"
            with pytest.raises(OutboundRefused, match="loopback"):
                await http.get(site.url("/go"))
    assert internal.requests == []
