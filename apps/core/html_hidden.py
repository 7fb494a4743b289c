"""Whether an HTML element shows its text to a person reading the page or the mail (apps/core/html_text.py uses it).

Mail clients honour inline styles and presentational attributes, not style sheets they strip, so these are what a
sender can hide words with: ``display:none``, ``visibility:hidden``, ``opacity:0``, a zero (or one-pixel) font, a
zero-size box that clips its overflow, a box pushed far off screen, the ``hidden`` attribute, and text the colour of
its background (white on white, the usual one). Each element's look is worked out from its parent's, like a browser
cascades ``color`` and the background behind the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE_BACKGROUND = "#ffffff"  # what mail clients and browsers draw behind a message that sets none
OFF_SCREEN_PX = -500  # left/top/text-indent below this puts the text outside any window
DEFAULT_FONT_PX = 16.0

_NAMED = {"white": "#ffffff", "black": "#000000", "transparent": "transparent"}
_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|pt|em|rem|%|vw|vh|)$")
_RGB = re.compile(r"^rgba?\(\s*(\d+)\s*,?\s*(\d+)\s*,?\s*(\d+)\s*(?:[,/]\s*([\d.]+%?)\s*)?\)$")


@dataclass(frozen=True)
class Look:
    """How an element draws its text. ``hidden``: why its whole box is unseen, which no descendant can undo
    (``display:none``, ``opacity:0``, a clipped or off-screen box); the rest is inherited and a descendant may set it
    again, as layouts do (a column wrapper at ``font-size:0`` whose paragraphs set ``14px``)."""

    hidden: str = ""
    invisible: bool = False  # visibility:hidden (a descendant may say visibility:visible)
    font_px: float = DEFAULT_FONT_PX
    indent_px: float = 0.0
    color: str = ""
    background: str = PAGE_BACKGROUND

    def hides_text(self) -> str:
        """Why text drawn with this look is not seen, or ""."""
        if self.hidden:
            return self.hidden
        if self.invisible:
            return "visibility:hidden"
        if self.font_px <= 1:
            return "a zero font size"
        if self.indent_px <= OFF_SCREEN_PX:
            return "text indented off screen"
        if self.color == "transparent":
            return "transparent text"
        if self.color and self.color == self.background:
            return "text the colour of its background"
        return ""


PAGE = Look()


def declarations(style: str) -> dict[str, str]:
    """An inline ``style`` attribute as {property: value}, lower-cased, without ``!important``; the last one wins."""
    found: dict[str, str] = {}
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        value = value.lower().replace("!important", "").strip()
        if name.strip() and value:
            found[name.strip().lower()] = value
    return found


def colour(value: str) -> str:
    """A CSS colour as ``#rrggbb`` (or "transparent"); "" when it is not one this module can compare."""
    value = value.strip().lower()
    if value in _NAMED:
        return _NAMED[value]
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "#" + "".join(ch * 2 for ch in value[1:])
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return value
    if re.fullmatch(r"#[0-9a-f]{8}", value):
        return "transparent" if value[7:] == "00" else value[:7]
    match = _RGB.match(value)
    if match:
        red, green, blue, alpha = match.groups()
        if alpha is not None and float(alpha.rstrip("%") or 0) == 0:
            return "transparent"
        return "#" + "".join(f"{min(255, int(c)):02x}" for c in (red, green, blue))
    return ""


def _pixels(value: str) -> float | None:
    """A length in pixels (roughly: 1pt = 1.33px, 1em = 16px), or None when it is not a plain length."""
    match = _LENGTH.match(value.strip())
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    return number * {"pt": 4 / 3, "em": 16, "rem": 16, "%": 0.16, "vw": 10, "vh": 10}.get(unit, 1)


def _at_most(value: str, limit: float) -> bool:
    pixels = _pixels(value) if value else None
    return pixels is not None and pixels <= limit


def _hidden_by(style: dict[str, str], attrs: dict[str, str]) -> str:
    if "hidden" in attrs:
        return "the hidden attribute"
    if style.get("display") == "none":
        return "display:none"
    if _at_most(style.get("opacity", ""), 0):
        return "opacity:0"
    if style.get("overflow") == "hidden" and any(
        _at_most(style.get(prop, ""), 0) for prop in ("height", "max-height", "width", "max-width")
    ):
        return "a zero-size box"
    if style.get("position") in {"absolute", "fixed"} and any(
        _at_most(style.get(prop, ""), OFF_SCREEN_PX) for prop in ("left", "top", "right")
    ):
        return "a box off screen"
    return ""


def _font_px(tag: str, style: dict[str, str], attrs: dict[str, str], parent_px: float) -> float:
    value = style.get("font-size", "").strip()
    if not value:
        return 0.0 if tag == "font" and attrs.get("size", "").strip() == "0" else parent_px
    match = _LENGTH.match(value)
    if not match:
        return parent_px  # a keyword (small, larger) or a calc(): some readable size
    number, unit = float(match.group(1)), match.group(2)
    if unit in {"em", "%"}:  # relative to the parent's size: nothing brings a zero font back
        return parent_px * (number if unit == "em" else number / 100)
    return _pixels(value) or 0.0


def look_of(tag: str, attrs: dict[str, str], parent: Look) -> Look:
    """The look of a ``tag`` element with these attributes inside an element that looks like ``parent``."""
    style = declarations(attrs.get("style", ""))
    visibility = style.get("visibility", "")
    indent = _pixels(style["text-indent"]) if "text-indent" in style else None
    color = colour(style.get("color", "") or (attrs.get("color", "") if tag == "font" else "")) or parent.color
    background_value = style.get("background-color", "") or attrs.get("bgcolor", "")
    if not background_value and style.get("background"):
        background_value = next(
            (token for token in style["background"].split() if colour(token)), ""
        )  # the shorthand's colour
    background = colour(background_value) if background_value else ""
    if background == "transparent":
        background = ""
    return Look(
        hidden=parent.hidden or _hidden_by(style, attrs),
        invisible=visibility in {"hidden", "collapse"} if visibility else parent.invisible,
        font_px=_font_px(tag, style, attrs, parent.font_px),
        indent_px=indent if indent is not None else parent.indent_px,
        color=color,
        background=background or parent.background,
    )
