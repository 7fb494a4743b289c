"""The Teams app package an MSP uploads (Teams admin center → Manage apps → Upload, or Developer Portal): a zip of
``manifest.json`` (schema v1.17) and its two icons, named and coloured for the MSP.

The manifest carries the Azure Bot's app id (``bots[0].botId``, and the app ``id``: Microsoft's samples use the
bot's id for both), the persona's name, the MSP as developer, personal/team/groupchat scopes and the portal host
as a valid domain. Icons are the MSP's own PNG files (``--color-icon``/``--outline-icon`` or the
``GABY_TEAMS_ICON_*`` settings) or drawn here: a 192x192 colour icon (a white chat bubble on the accent colour) and
a 32x32 outline icon (white on transparent, as Teams requires).
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.17"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ManifestError(ValueError):
    """A value the manifest cannot carry; the message says which and what to give instead."""


@dataclass(frozen=True)
class AppInfo:
    app_id: str  # the Azure Bot's Microsoft App ID
    persona: str = "Gaby"
    developer: str = "Your MSP"
    website_url: str = ""
    privacy_url: str = ""
    terms_url: str = ""
    domain: str = ""  # the portal host (the messaging endpoint's)
    accent_color: str = "#0B6E4F"
    version: str = "1.0.0"
    short_description: str = ""
    full_description: str = ""

    def check(self) -> None:
        if not GUID.match(self.app_id):
            raise ManifestError(
                f"The bot's app id {self.app_id!r} is not a GUID: give the Azure Bot's Microsoft App ID "
                "(GABY_TEAMS_APP_ID or --app-id)."
            )
        if not self.persona.strip() or len(self.persona) > 30:
            raise ManifestError("The persona name must be 1 to 30 characters (Teams' limit for an app's short name).")
        if not HEX_COLOR.match(self.accent_color):
            raise ManifestError(f"The accent colour {self.accent_color!r} must look like #0B6E4F.")
        if not VERSION.match(self.version):
            raise ManifestError(f"The version {self.version!r} must look like 1.0.0.")
        for label, url in (("website", self.website_url), ("privacy", self.privacy_url), ("terms", self.terms_url)):
            if not url.startswith("https://"):
                raise ManifestError(f"The {label} URL must be an https:// address (got {url!r}).")
        if not self.domain or "/" in self.domain or ":" in self.domain:
            raise ManifestError(f"The domain {self.domain!r} must be a host name such as support.example.com.")


def manifest(info: AppInfo) -> dict[str, Any]:
    info.check()
    short = info.short_description or f"{info.persona} answers your IT questions and gets things done."
    full = info.full_description or (
        f"{info.persona} is {info.developer}'s support assistant. Ask in a personal chat or mention "
        f"@{info.persona} in a channel: it answers from your company's knowledge with its sources, opens a ticket "
        "for what needs doing, and hands you to a person when it cannot help."
    )
    scopes = ["personal", "team", "groupChat"]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": info.version,
        "id": info.app_id.lower(),
        "developer": {
            "name": info.developer[:32],
            "websiteUrl": info.website_url,
            "privacyUrl": info.privacy_url,
            "termsOfUseUrl": info.terms_url,
        },
        "name": {"short": info.persona, "full": f"{info.persona} — {info.developer} support"[:100]},
        "description": {"short": short[:80], "full": full[:4000]},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": info.accent_color.upper(),
        "bots": [
            {
                "botId": info.app_id.lower(),
                "scopes": scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": scopes,
                        "commands": [
                            {"title": "help", "description": f"What {info.persona} can do for you"},
                            {"title": "talk to a person", "description": "Hand this conversation to the team"},
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [info.domain],
    }


# --- icons ---------------------------------------------------------------------------------------------
def _png(size: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG (no filter, zlib) from a pixel function: the format needs nothing more."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _in_bubble(x: float, y: float) -> bool:
    """A chat bubble in the unit square: an ellipse and a tail at its lower left."""
    ellipse = ((x - 0.5) / 0.36) ** 2 + ((y - 0.45) / 0.28) ** 2 <= 1
    tail = 0.22 <= x <= 0.42 and 0.62 <= y <= 0.82 and (y - 0.62) <= (0.42 - x) * 1.0
    return ellipse or tail


def color_icon(accent: str) -> bytes:
    r, g, b = (int(accent[i : i + 2], 16) for i in (1, 3, 5))
    size = 192
    return _png(size, lambda x, y: (255, 255, 255, 255) if _in_bubble(x / size, y / size) else (r, g, b, 255))


def outline_icon() -> bytes:
    size = 32

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        u, v = (x + 0.5) / size, (y + 0.5) / size
        inside = _in_bubble(u, v)
        edge = inside and not all(_in_bubble(u + du, v + dv) for du in (-0.07, 0.07) for dv in (-0.07, 0.07))
        return (255, 255, 255, 255) if edge else (255, 255, 255, 0)

    return _png(size, pixel)


def _given_png(path: str, label: str) -> bytes:
    data = Path(path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ManifestError(f"The {label} icon {path} is not a PNG file.")
    return data


def package(info: AppInfo, *, color_png: str = "", outline_png: str = "") -> bytes:
    """The zip Teams takes: manifest.json, color.png, outline.png at its root."""
    content = manifest(info)
    color = _given_png(color_png, "colour") if color_png else color_icon(info.accent_color)
    outline = _given_png(outline_png, "outline") if outline_png else outline_icon()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(content, indent=2, ensure_ascii=False))
        archive.writestr("color.png", color)
        archive.writestr("outline.png", outline)
    return buffer.getvalue()
