"""The Teams app package: ``gaby teams-manifest`` writes a zip whose manifest.json is valid against Microsoft's
v1.17 schema (bundled in the npm package @microsoft/app-manifest, installed by ./gaby test) with usable icons."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.chat.surfaces.teams import manifest

SCHEMA = (
    Path(os.environ.get("GABY_DATA_DIR", settings.BASE_DIR / "var"))
    / "npm/node_modules/@microsoft/app-manifest/build/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
)
APP_ID = "6a1f4c3e-0b7d-4c55-9d8e-2f0a1b2c3d4e"
MSP = {
    "developer": "Blue Mesa IT",
    "website": "https://bluemesa.example",
    "privacy_url": "https://bluemesa.example/privacy",
    "terms_url": "https://bluemesa.example/terms",
}


def _schema_errors(document: dict[str, Any]) -> list[str]:
    if not SCHEMA.exists():
        if os.environ.get("CI"):  # in CI a missing schema is a broken install step, not a reason to skip
            pytest.fail(f"{SCHEMA} is not installed: ./gaby test installs tests/npm (npm ci)")
        pytest.skip(f"{SCHEMA} is not installed: ./gaby test installs tests/npm (npm ci)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8-sig"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(manifest.PNG_MAGIC)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_command_writes_a_package_valid_against_the_v1_17_schema(tmp_path: Path) -> None:
    out = tmp_path / "gaby-teams.zip"
    call_command(
        "gaby",
        "teams-manifest",
        "--out",
        str(out),
        "--app-id",
        APP_ID,
        "--name",
        "Mesa Helper",
        "--domain",
        "support.bluemesa.example",
        "--developer",
        MSP["developer"],
        "--website",
        MSP["website"],
        "--privacy-url",
        MSP["privacy_url"],
        "--terms-url",
        MSP["terms_url"],
        stdout=io.StringIO(),
    )
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        document = json.loads(archive.read("manifest.json"))
        assert _png_size(archive.read("color.png")) == (192, 192)
        assert _png_size(archive.read("outline.png")) == (32, 32)
    assert _schema_errors(document) == []
    assert document["manifestVersion"] == "1.17" and document["bots"][0]["botId"] == APP_ID
    assert document["name"]["short"] == "Mesa Helper" and document["developer"]["name"] == "Blue Mesa IT"
    assert document["validDomains"] == ["support.bluemesa.example"]


def test_the_schema_check_catches_a_bad_manifest() -> None:
    """The validation is real: a scope Teams does not know is an error."""
    info = manifest.AppInfo(app_id=APP_ID, domain="support.bluemesa.example", **_urls())
    document = manifest.manifest(info)
    document["bots"][0]["scopes"] = ["groupchat"]
    assert any("groupchat" in error for error in _schema_errors(document))


def _urls() -> dict[str, str]:
    return {
        "developer": MSP["developer"],
        "website_url": MSP["website"],
        "privacy_url": MSP["privacy_url"],
        "terms_url": MSP["terms_url"],
    }


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"app_id": "not-a-guid"}, "Microsoft App ID"),
        ({"accent_color": "green"}, "#0B6E4F"),
        ({"website_url": "http://bluemesa.example"}, "https://"),
        ({"persona": "x" * 31}, "30 characters"),
        ({"domain": "https://support.example"}, "host name"),
    ],
)
def test_bad_values_are_refused_with_what_to_give(change: dict[str, str], says: str) -> None:
    values: dict[str, Any] = {"app_id": APP_ID, "domain": "support.bluemesa.example", **_urls(), **change}
    with pytest.raises(manifest.ManifestError, match=says.replace("+", r"\+")):
        manifest.manifest(manifest.AppInfo(**values))


def test_a_given_icon_must_be_a_png(tmp_path: Path) -> None:
    fake = tmp_path / "logo.png"
    fake.write_bytes(b"GIF89a")
    with pytest.raises(CommandError, match="not a PNG"):
        call_command(
            "gaby",
            "teams-manifest",
            "--out",
            str(tmp_path / "x.zip"),
            "--app-id",
            APP_ID,
            "--color-icon",
            str(fake),
            "--developer",
            MSP["developer"],
            "--website",
            MSP["website"],
            "--privacy-url",
            MSP["privacy_url"],
            "--terms-url",
            MSP["terms_url"],
            stdout=io.StringIO(),
        )
