"""``gaby connect-ninjaone``: one NinjaOne API client app, many Gaby clients, through the real connect path and
the MCP host against the NinjaOne stand-in."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from apps.connectors.models import Connector, ConnectorEvent, EventKind, Kind
from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED
from tests.connectors.vendors import (
    call,
    close_sessions,  # noqa: F401 (autouse: servers end with each test)
    result,
)

SECRET = "ninja-mapping-secret-never-in-clear-4242"
SEED: dict[str, Any] = {**DEMO_SEED, "clients": {"gaby-rmm": SECRET}}


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox(SEED) as sandbox:
        yield sandbox


def _run(ninja: NinjaOneSandbox, *args: str, secret: str = SECRET) -> str:
    config = json.dumps({"url": ninja.base_url, "client_id": "gaby-rmm", "client_secret": secret})
    out = StringIO()
    call_command("gaby", "connect-ninjaone", "--config", config, *args, stdout=out)
    return out.getvalue()


def _ninjaone_connectors(client: Any) -> list[Connector]:
    with tenant_context(client):
        return list(Connector.objects.filter(kind=Kind.NINJAONE))


def _device_names(client: Any, connector: Connector) -> set[str]:
    with tenant_context(client):
        found = result(call(connector, "find_device"))
    return {device["systemName"] for device in found["devices"]}


def test_list_suggests_the_client_whose_name_matches_each_organization(
    ninja: NinjaOneSandbox, hartwell: Any, dearborn: Any
) -> None:
    lines = _run(ninja, "--list").splitlines()
    assert lines[:3] == [
        "1\tHartwell Law\tsuggested: hartwell (Hartwell Law)",
        "2\tDearborn CPA\tsuggested: dearborn (Dearborn CPA)",
        "3\tLakeside Dental\tno matching client",
    ]
    assert lines[3].endswith("--map 1=hartwell --map 2=dearborn")
    assert not _ninjaone_connectors(hartwell) and not _ninjaone_connectors(dearborn)


def test_mapping_two_organizations_makes_two_connectors_that_each_see_only_their_own_devices(
    ninja: NinjaOneSandbox, hartwell: Any, dearborn: Any
) -> None:
    text = _run(ninja, "--map", "1=hartwell", "--map", "2=dearborn")
    assert "NinjaOne organization 1 (Hartwell Law) → Hartwell Law: connector NinjaOne, 14 tools" in text
    assert "NinjaOne organization 2 (Dearborn CPA) → Dearborn CPA: connector NinjaOne, 14 tools" in text
    assert SECRET not in text
    [hwl] = _ninjaone_connectors(hartwell)
    [dcpa] = _ninjaone_connectors(dearborn)
    assert _device_names(hartwell, hwl) == {"HWL-RECEPTION-01", "HWL-PARTNER-02", "HWL-LAPTOP-07", "HWL-FS-01"}
    assert _device_names(dearborn, dcpa) == {"DCPA-FRONT-01", "DCPA-TAX-03"}
    for client, connector in ((hartwell, hwl), (dearborn, dcpa)):
        with tenant_context(client):
            assert ConnectorEvent.objects.filter(connector=connector, kind=EventKind.CONSENT).count() == 1
            with connection.cursor() as cursor:
                cursor.execute("SELECT sealed_config FROM connectors_connector WHERE id = %s", [connector.pk])
                assert SECRET not in str(cursor.fetchone()[0])
            other = dcpa if client is hartwell else hwl
            with tenant_context(hartwell if client is dearborn else dearborn):
                their_device = result(call(other, "find_device"))["devices"][0]["id"]
            outside = call(connector, "device_health", device_id=their_device)
            assert outside.result_is_error and "another organization" in outside.result_text

    # The second run: organization 1 serves Hartwell already, Dearborn has a connector: nothing is created.
    with pytest.raises(CommandError) as refused:
        _run(ninja, "--map", "1=dearborn", "--map", "3=dearborn")
    message = str(refused.value)
    assert "Nothing was connected" in message and "organization 1 (Hartwell Law) already serves Hartwell Law" in message
    assert "Dearborn CPA already has a NinjaOne connector" in message
    assert len(_ninjaone_connectors(dearborn)) == 1 and len(_ninjaone_connectors(hartwell)) == 1
    listed = _run(ninja, "--list").splitlines()
    assert listed[:2] == ["1\tHartwell Law\talready serves hartwell", "2\tDearborn CPA\talready serves dearborn"]


def test_a_wrong_organization_or_secret_fails_before_anything_is_created(
    ninja: NinjaOneSandbox, hartwell: Any, dearborn: Any
) -> None:
    with pytest.raises(CommandError, match="no organization 99 for this API client; its organizations are: 1 Hartwell"):
        _run(ninja, "--map", "1=hartwell", "--map", "99=dearborn")
    with pytest.raises(CommandError, match="refused the connector's credentials"):
        _run(ninja, "--map", "1=hartwell", secret="wrong")
    with pytest.raises(CommandError, match="NinjaOne organization 1 is mapped twice"):
        _run(ninja, "--map", "1=hartwell", "--map", "1=dearborn")
    with pytest.raises(CommandError, match="no Gaby client with slug 'nope'"):
        _run(ninja, "--map", "1=nope")
    with pytest.raises(CommandError, match="Map at least one NinjaOne organization"):
        _run(ninja)
    assert not _ninjaone_connectors(hartwell) and not _ninjaone_connectors(dearborn)


def test_one_client_may_get_several_organizations_and_the_secret_from_the_environment(
    ninja: NinjaOneSandbox, hartwell: Any
) -> None:
    config = json.dumps({"url": ninja.base_url, "client_id": "gaby-rmm"})
    os.environ["NINJA_MAP_SECRET"] = SECRET
    try:
        out = StringIO()
        call_command(
            "gaby",
            "connect-ninjaone",
            "--config",
            config,
            "--client-secret-env",
            "NINJA_MAP_SECRET",
            "--map",
            "1=hartwell",
            "--map",
            "3=hartwell",
            stdout=out,
        )
    finally:
        del os.environ["NINJA_MAP_SECRET"]
    assert "NinjaOne organization 1 (Hartwell Law), 3 (Lakeside Dental) → Hartwell Law" in out.getvalue()
    [rmm] = _ninjaone_connectors(hartwell)
    assert _device_names(hartwell, rmm) >= {"HWL-FS-01", "LSD-XRAY-01"}
    assert not any(name.startswith("DCPA") for name in _device_names(hartwell, rmm))
    with pytest.raises(CommandError, match="The NinjaOne connection needs client_secret"):
        call_command("gaby", "connect-ninjaone", "--config", config, "--list")
    with pytest.raises(CommandError, match="--client-secret-env NINJA_MAP_SECRET: that environment variable"):
        call_command("gaby", "connect-ninjaone", "--config", config, "--client-secret-env", "NINJA_MAP_SECRET")
