"""Reading a ticket before anything matches it: the requester's own words, apart from what they quote or forward.

A support email carries more than the request: the sender's signature (with colleagues' addresses and phone
numbers), the quoted history of earlier replies ("On Tue, Jane wrote: > ..."), a forwarded message written by
someone else, a legal disclaimer. Matching a playbook or extracting an account from all of that acts on the
wrong text: an address in a signature or a forwarded header is not the person asking. ``read`` splits the text
with mail-parser-reply (a maintained reply/signature parser with headers in many languages) and keeps every
part, so the original is never lost and each part can be shown for what it is.

The language of the request is detected with py3langid (a bundled, offline model) among the languages Gaby
serves, so a German question is known to be German before the English knowledge base is searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mailparser_reply.parser import EmailMessage

READ_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# The header line that opens a forwarded message, in the mail clients' common wordings and languages.
FORWARD_MARKERS = re.compile(
    r"^[-_=\s>]*(?:-{2,}\s*)?(?:forwarded message|original message|weitergeleitete nachricht|"
    r"ursprüngliche nachricht|message transféré|message d'origine|mensaje reenviado|mensaje original|"
    r"messaggio inoltrato|doorgestuurd bericht|begin forwarded message)",
    re.IGNORECASE | re.MULTILINE,
)
# Fewer words than this in the requester's own part, above a forwarded message: "see below", "FYI, can you help?"
SHORT_COVER_NOTE = 15
MAX_LANGUAGE_TEXT = 2000


@dataclass(frozen=True)
class ReadTicket:
    """The parts of one ticket text. ``request`` is what matching and extraction read; the rest is kept."""

    request: str  # the requester's own words: the newest reply without signature or disclaimer
    quoted: str = ""  # earlier messages quoted below it
    forwarded: str = ""  # a message the requester forwarded (someone else's words)
    signature: str = ""
    other_addresses: tuple[str, ...] = ()  # addresses in quoted or forwarded headers and in the signature
    forwarded_from: str = ""  # the author of the forwarded message (its From header), lower-case
    language: str = "en"

    @property
    def forwards_someone(self) -> bool:
        return bool(self.forwarded.strip())

    @property
    def cover_note_only(self) -> bool:
        """The requester wrote almost nothing of their own above a forwarded message."""
        return self.forwards_someone and len(self.request.split()) < SHORT_COVER_NOTE

    def matching_text(self) -> str:
        """What to match on: the requester's words, and a forwarded message's when they only wrote a cover note."""
        if self.cover_note_only:
            return f"{self.request}\n\n{self.forwarded}".strip()
        return self.request


# A sign-off the parser's per-language lists miss ("Danke und Gruß", "Thank you and greetings from Innsbruck"):
# a short line near the end that opens with a closing word starts the signature.
SIGN_OFF = re.compile(
    r"^\s*(?:thanks?|thank you|many thanks|thx|cheers|regards|best|kind regards|warm regards|br|greetings|"
    r"sincerely|yours|danke|vielen dank|besten dank|gruß|grüße|gruss|lg|vg|mfg|merci|cordialement|bien à vous|"
    r"bonne journée|gracias|saludos|un saludo|atentamente|muchas gracias|grazie|cordiali saluti|groeten)\b",
    re.IGNORECASE,
)
SIGN_OFF_TAIL = 8  # lines after a sign-off, at most (name, title, company, address, phone)
SIGN_OFF_LENGTH = 60


def _split_sign_off(text: str) -> tuple[str, str]:
    """``(text before the sign-off, the sign-off and what follows)``; the text itself when there is none."""
    lines = text.splitlines()
    for index in range(max(1, len(lines) - SIGN_OFF_TAIL - 1), len(lines)):
        line = lines[index]
        if len(line.strip()) <= SIGN_OFF_LENGTH and SIGN_OFF.match(line) and "?" not in line:
            return "\n".join(lines[:index]).strip(), "\n".join(lines[index:]).strip()
    return text, ""


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # loads its model at import: on first use

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(READ_LANGUAGES))
    return identifier


def detect_language(text: str) -> str:
    """The language of ``text`` among ``READ_LANGUAGES`` ("en" when there is too little text to tell)."""
    words = re.findall(r"[^\W\d_]{2,}", text)
    if len(words) < 3:
        return "en"
    language, probability = _identifier().classify(text[:MAX_LANGUAGE_TEXT])
    return str(language) if probability >= 0.5 else "en"


def _is_forward(header: str, content: str) -> bool:
    return bool(FORWARD_MARKERS.search(header) or FORWARD_MARKERS.search(content[:200]))


def read(body: str, *, title: str = "") -> ReadTicket:
    """Split ``body`` into the request and what it quotes, forwards and signs off with."""
    text = body.replace("\r\n", "\n").replace("\x00", "")
    if not text.strip():
        return ReadTicket(request="", language=detect_language(title))
    # Hyphen lists are kept: "- how do we verify webhooks?" is a question, not a signature.
    replies = EmailMessage(text=text, languages=list(READ_LANGUAGES), keep_hyphen_lists=True).read().replies
    if not replies:
        return ReadTicket(request=text.strip(), language=detect_language(f"{title}\n{text}"))
    first, rest = replies[0], replies[1:]
    request = first.body if not first.headers else ""
    signature = first.signatures
    # The parser splits at the forwarded message's own "From:" header and leaves the forward marker line at the
    # end of the requester's part: cut there, and what follows the marker is forwarded.
    marker = FORWARD_MARKERS.search(request)
    forwarding = marker is not None
    if marker is not None:
        request = request[: marker.start()].strip()
    quoted_parts, forwarded_parts, others, authors = [], [], [], []
    for index, reply in enumerate(rest if first.body and not first.headers else replies):
        others += EMAIL.findall(reply.headers)
        if (forwarding and index == 0) or _is_forward(reply.headers, reply.content):
            forwarded_parts.append(reply.body)
            authors += EMAIL.findall(reply.headers)[:1]
        else:
            quoted_parts.append(reply.body)
    quoted = "\n\n".join(part for part in quoted_parts if part)
    # Lines quoted with ">" inside the newest reply are history too.
    own_lines: list[str] = []
    quoted_lines: list[str] = []
    for line in request.splitlines():
        (quoted_lines if line.lstrip().startswith(">") else own_lines).append(line)
    request, sign_off = _split_sign_off("\n".join(own_lines).strip())
    signature = "\n".join(filter(None, [sign_off, signature]))
    if quoted_lines:
        quoted = "\n".join(filter(None, ["\n".join(quoted_lines), quoted]))
    others += EMAIL.findall(signature) + EMAIL.findall(quoted)
    forwarded = "\n\n".join(part for part in forwarded_parts if part)
    others += EMAIL.findall(forwarded)
    language = detect_language(f"{title}\n{request or forwarded}")
    return ReadTicket(
        request=request,
        quoted=quoted,
        forwarded=forwarded,
        signature=signature,
        other_addresses=tuple(dict.fromkeys(address.lower() for address in others)),
        language=language,
        forwarded_from=authors[0].lower() if authors else "",
    )
