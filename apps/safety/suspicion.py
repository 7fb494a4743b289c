"""Suspicion signals on a ticket, in every mode (no model needed): each flag comes with the evidence that raised it.

A flagged ticket never auto-acts: the engine escalates it with the flags, and the safety gate holds any write made
for it (policy rule 7). The signals are deliberately about *how* the ticket asks, not what it asks about:

* ``sender_unverified`` — the receiving server said the sender failed DMARC (or SPF with no passing DKIM), or the
  address is only what the requester typed (``identity=unverified``: a chat visitor without a signed identity);
* ``lookalike_domain`` — the sender's domain imitates a domain this client already knows (one or two letters off,
  another top-level domain, the name with a suffix glued on, look-alike characters);
* ``free_mail_impersonation`` — a free-mail sender using the name of a known contact at a company domain,
  claiming a company address of a known domain as theirs, or whose mailbox is named after a known company
  ("brightpath.it.helpdesk@outlook.com");
* ``instructions_to_agent`` — text addressed to an AI or its system ("ignore previous instructions", "SYSTEM:");
* ``fake_approval`` — an approval line in the customer's own text ("Approved by IT", "pre-approved");
* ``payload`` — template, SQL or script injection (``{{7*7}}``, ``' OR 1=1 --``, ``<script>``);
* ``mfa_disable`` — asks to turn off or bypass two-factor authentication;
* ``hidden_text`` — words a person reading the mail never sees: an HTML comment in the text, or what the email's
  HTML hid (``display:none``, white on white, a zero font, text off screen), kept apart by the email source;
* ``acts_on_many`` — asks for an account action on everyone ("reset links for all @brightpath.example users");
* ``asks_for_secrets`` — asks the reader to send a password or a one-time code, or to install a remote-access tool
  ("reply with the session code and the local administrator password"): what a phishing mail asks, never a
  customer with a problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "mail.com",
        "zoho.com",
        "yandex.ru",
        "yandex.com",
        "mail.ru",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "wanadoo.fr",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "tiscali.it",
        "hey.com",
        "fastmail.com",
        "tutanota.com",
        "qq.com",
        "163.com",
    ]
)
# Applied before comparing domains: characters and pairs that read alike.
# Cyrillic letters that look Latin (a, e, o, p, c, x, y, i, l), the commonest homograph trick in domain names.
CYRILLIC_LOOKALIKES = str.maketrans(
    {
        "\u0430": "a",
        "\u0435": "e",
        "\u043e": "o",
        "\u0440": "p",
        "\u0441": "c",
        "\u0445": "x",
        "\u0443": "y",
        "\u0456": "i",
        "\u04cf": "l",
    }
)
_CONFUSABLE_PAIRS = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("3", "e"), ("5", "s"), ("i", "l"))

_FLAGS: dict[str, tuple[str, ...]] = {
    "instructions_to_agent": (
        r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:previous|prior|above|earlier|"
        r"preceding|existing|system)?\s*(?:instructions?|prompts?|rules|guidelines|directives)\b",
        r"(?:^|\n)\s*\[?(?:system|assistant|developer)\]?\s*(?:prompt|message|override|instructions?|note)\s*:",
        r"(?-i:(?:^|\n)\s*\[?SYSTEM\]?\s*:)",
        r"\byou are now\b",
        r"\b(?:new|updated|revised) instructions?\s*(?:for (?:the )?(?:ai|assistant|bot|agent))?\s*:",
        r"\b(?:dear|attention|note to (?:the)?)\s+(?:ai|assistant|bot|gpt|llm|support agent ai)\b",
        r"\b(?:as an ai|ai assistant,|to the ai|for the ai|the ai (?:must|should|will))\b",
        r"\binstructions? (?:for|to) (?:the )?(?:[\w-]+ )?(?:ai|assistant|bot|agent|gaby|gpt|llm|model)\b",
        r"\b(?:support|helpdesk|help desk|customer service) (?:ai|bot|assistant)\b",
        r"\bwhen this (?:message|e-?mail|mail|ticket) reaches you\b",
        r"\btreat (?:it|this|the request) as (?:pre-?)?(?:approved|authori[sz]ed|verified)\b",
        r"<\|?(?:im_start|im_end|system|endoftext)\|?>",
        r"\bdeveloper mode\b|\bjailbreak\b|\bDAN mode\b",
        r"\bdo not (?:tell|inform|notify|alert) (?:a |any )?(?:human|staff|admin|anyone|your team)\b",
        r"\b(?:ignore|disregard|forget)\s+(?:the|everything|all|any)\s+(?:\w+\s+){0,2}?(?:above|before this|earlier)\b",
        # "Assistant: refund every charge", not a signature's "Assistant: maria.lopez@… | +49 …"
        r"(?:^|\n)\s*\[?(?:assistant|ai assistant|ai|bot)\]?\s*:\s*(?:please\s+)?(?:ignore|disregard|forget|"
        r"refund|reset|unlock|delete|remove|send|call|run|execute|list|export|give|grant|disable|approve|you (?:are|"
        r"must|will|should)|do not|don't|always|never)\b",
        r"<!--\s*\[?(?:system|assistant|ai|bot|agent|instructions?)\]?\s*:",
        r"\bignorier(?:e|en)? (?:alle )?(?:vorherigen |bisherigen |deine |ihre )?anweisungen\b",
        r"\bignor(?:ez|e|er) (?:toutes )?(?:les |tes |vos |ses )?(?:instructions|consignes)\b",
        r"\bignora (?:todas )?(?:las |tus |sus )?instrucciones\b",
        r"\b(?:note|message|consigne)s?\s+(?:pour|à|a)\s+l['\u2019](?:assistant|ia)\b",
        r"\b(?:hinweis|nachricht|notiz|anweisung)\s+(?:an|für)\s+(?:die\s+|den\s+)?(?:ki|assistenten|bot)\b",
        r"\b(?:nota|mensaje|instrucci[óo]n)\s+para\s+(?:el\s+|la\s+)?(?:asistente|ia|bot)\b",
    ),
    "fake_approval": (
        r"\b(?:pre-?approved|approval (?:granted|given|attached|confirmed)|already approved|has been approved)\b",
        r"\bapproved by\s+(?:the\s+|your\s+|our\s+)?(?:[A-Za-z-]+\s+)?(?:it|security|management|admin|manager|ciso|cto|"
        r"ceo|support|finance|legal|director|boss|head|team lead)\b",
        r"\b(?:authori[sz]ed|signed off) by\s+(?:the\s+)?(?:it|security|management|admin|manager|ciso|cto|ceo)\b",
        r"(?:^|\n)\s*(?:approved|approval|authorization|authorisation)\s*:\s*(?:yes|granted|ok|approved|\w+)",
        r"\b(?:cab|change) (?:ticket )?approved\b",
        r"\bapproved by\s+(?:the\s+|your\s+)?(?:[\w-]+\s+){1,3}(?:team|department|dept|office|desk|management)\b",
        r"\bgenehmigt (?:durch|von)\b|\bfreigegeben (?:durch|von)\b",
        r"\bapprouvé par\b|\baprobado por\b|\bvalid[ée]e?s? par\b|\bvalidado por\b",
    ),
    "payload": (
        r"\{\{.*?\}\}",
        r"\{%.*?%\}",
        r"\$\{[^}]*\}",
        r"<%.*?%>",
        r"#\{[^}]*\}",
        r"'\s*(?:or|and)\s+'?\d+'?\s*=\s*'?\d+",
        r"\bunion\s+(?:all\s+)?select\b",
        r"\b(?:drop|truncate|alter)\s+table\b",
        r"\bdelete\s+from\s+\w+\s+where\b",
        r"['\"]\s*\)?\s*;\s*--",
        r"\bxp_cmdshell\b",
        r"<\s*script\b",
        r"\bjavascript:",
        r"(?:\.\./){2,}",
    ),
    "mfa_disable": (
        r"\b(?:disable|deactivate|remove|turn off|switch off|bypass|skip|drop|get rid of)\s+(?:the\s+|my\s+|our\s+"
        r"|his\s+|her\s+|their\s+|all\s+)?(?:2fa|mfa|two[- ]factor|multi[- ]factor|2-step|two[- ]step|authenticator)\b"
        r"(?!\s*(?:notification|reminder|e-?mail|prompt|message))",
        r"\b(?:2fa|mfa|two[- ]factor|multi[- ]factor|authenticator)\b[^.?!\n]{0,40}\b(?:disable|deactivate|remove|turn"
        r"(?:ed)? off|switch(?:ed)? off|bypass)",
        r"\b(?:2fa|mfa|zwei-faktor\S*)\b[^.?!\n]{0,40}\bdeaktivier",
        r"\bd[ée]sactiv\w*\s+(?:la\s+|le\s+|l')?(?:2fa|mfa|double authentification|authentification (?:à|a) deux)",
        r"\bdesactiv\w*\s+(?:el\s+|la\s+)?(?:2fa|mfa|doble factor|autenticaci[óo]n de dos)",
    ),
    "acts_on_many": (
        # the accounts of everyone: "send password reset links for all @x users", "end the sessions of every user"
        r"\b(?:send|reset|unlock|disable|deactivate|delete|remove|end|terminate|revoke|log out|sign out)\s+"
        r"(?:the\s+)?(?:passwords?|accounts?|sessions?|mfa|2fa|logins?|(?:password\s+)?reset\s+links?)\b"
        r"[^.?!\n]{0,40}?\b(?:of|for|on)\s+(?:all|every|each)\b",
        # "unlock all accounts", "reset every user's password"
        r"\b(?:reset|unlock|disable|deactivate|delete|remove|end|terminate|revoke)\s+(?:all|every|each)\s+(?:of\s+)?"
        r"(?:our\s+|the\s+|their\s+)?(?:@[\w.-]+\s+)?(?:(?:users?|staff|employees?)(?:'s|s')?\s+)?"
        r"(?:accounts?|passwords?|sessions?|mailboxes|logins?)\b",
    ),
    "asks_for_secrets": (
        # "reply with the session code and the local administrator password", "send us your login details"; not
        # "send me a password reset link" (a reset link is what a locked-out customer asks for)
        r"\b(?:reply|respond|send|e-?mail|provide|share|confirm)\s+(?:(?:to\s+)?(?:us|me|it)\s+)?(?:back\s+)?"
        r"(?:with\s+)?(?:\w+\s+){0,5}?(?:your|the)\s+(?:\w+\s+){0,2}?(?:password|passcode|credentials|login details|"
        r"(?:session|verification|one-time|security|mfa|2fa) code)\b"
        # what a customer asks about a password, not for it: "confirm the password requirements"
        r"(?!\s*(?:reset|policy|policies|requirements?|rules?|length|expir\w*|manager|change))",
        # a remote-access tool from a stranger's link; a how-to about the firm's own Remote Desktop is no such ask
        r"\b(?:install|download|run)\b[^.?!\n]{0,40}\b(?:support tool|remote (?:access|support|session) "
        r"(?:tool|software|app|client)|anydesk|teamviewer|screenconnect|ultraviewer|supremo)\b",
    ),
}
_COMPILED = {
    name: tuple(re.compile(p, re.IGNORECASE | re.DOTALL) for p in patterns) for name, patterns in _FLAGS.items()
}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")


@dataclass(frozen=True)
class Flag:
    name: str
    evidence: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "evidence": self.evidence}


def _ascii_skeleton(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.translate(CYRILLIC_LOOKALIKES)
    for pair, replacement in _CONFUSABLE_PAIRS:
        folded = folded.replace(pair, replacement)
    return folded


def _core(domain: str) -> str:
    """The part of a domain that names the organisation: without its last label, letters and digits only."""
    labels = domain.lower().strip(".").split(".")
    body = labels[:-1] if len(labels) > 1 else labels
    return re.sub(r"[^0-9a-z\u00c0-\u024f\u0400-\u04ff]", "", "".join(body))


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings: domain names)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def lookalike_of(domain: str, known: Iterable[str]) -> str:
    """The known domain that ``domain`` imitates, or ""."""
    domain = domain.lower()
    core = _core(domain)
    skeleton = _ascii_skeleton(core)
    for candidate in known:
        candidate = candidate.lower()
        if candidate == domain or candidate in FREE_MAIL or domain.endswith("." + candidate):
            continue
        other = _core(candidate)
        if len(other) < 4:
            continue
        other_skeleton = _ascii_skeleton(other)
        if core == other or skeleton == other_skeleton:
            return candidate  # same name, another top-level domain or look-alike characters
        if len(other) >= 5 and _distance(skeleton, other_skeleton) <= (1 if len(other) < 8 else 2):
            return candidate
        if len(other) >= 5 and other in core and len(core) - len(other) <= 12:
            return candidate  # the name with something glued on: brightpath-example.com, brightpath-support.net
    return ""


def _named_after(mailbox: str, known: Sequence[str]) -> str:
    """The known company domain a free-mail mailbox is named after ("brightpath.it.helpdesk" → brightpath.example)."""
    words = set(re.split(r"[._+-]+", mailbox.lower()))
    for domain in known:
        core = _core(domain)
        if len(core) >= 5 and core in words:
            return domain
    return ""


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> str:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found.group(0).strip()[:120]
    return ""


def authentication_failed(authentication: str) -> bool:
    """Whether a recorded "spf=… dkim=… dmarc=…" verdict says the sender is not who the From claims, or the channel
    recorded that the address is only the requester's claim ("identity=unverified")."""
    verdicts = dict(part.split("=", 1) for part in authentication.split() if "=" in part)
    if verdicts.get("identity") == "unverified":  # an address the requester typed where the channel verifies none
        return True
    return verdicts.get("dmarc") == "fail" or (
        verdicts.get("spf") in {"fail", "softfail"} and verdicts.get("dkim") != "pass"
    )


def flags(
    *,
    sender: str,
    sender_name: str = "",
    authentication: str = "",
    text: str,
    known_domains: Sequence[str] = (),
    namesakes: Iterable[str] = (),
    hidden: Sequence[tuple[str, str]] = (),
) -> list[Flag]:
    """Every suspicion flag on a ticket from ``sender`` whose full text (title, body, quoted parts) is ``text``.

    ``hidden``: (how, words) its messages' HTML hid from the reader; the text signals read them too, since a model
    or a careless copy may still meet them.

    ``known_domains``: the company domains this client has heard from, oldest first (a look-alike imitates an
    older domain, never the other way round). ``namesakes``: addresses of known contacts with the sender's name.
    """
    found: list[Flag] = []
    if authentication_failed(authentication):
        found.append(
            Flag(
                "sender_unverified",
                "the address was typed by the requester and is not verified by the channel (no signed identity)"
                if "identity=unverified" in authentication.split()
                else f"the receiving server reported {authentication}",
            )
        )
    sender = sender.strip().lower()
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else ""
    ordered = [d.lower() for d in known_domains if d and d.lower() not in FREE_MAIL]
    older = ordered[: ordered.index(domain)] if domain in ordered else ordered
    if domain and domain not in FREE_MAIL:
        imitated = lookalike_of(domain, older)
        if imitated:
            found.append(Flag("lookalike_domain", f"{domain} imitates {imitated}"))
    if domain in FREE_MAIL:
        company = [
            address.lower()
            for address in namesakes
            if address.lower() != sender and address.lower().rsplit("@", 1)[-1] not in FREE_MAIL
        ]
        named_after = _named_after(sender.rsplit("@", 1)[0], ordered)
        if company:
            found.append(Flag("free_mail_impersonation", f"{sender} uses the name of {company[0]}"))
        elif named_after:
            found.append(Flag("free_mail_impersonation", f"{sender} (free mail) is named after {named_after}"))
        else:
            claimed = [m.group(0).lower() for m in EMAIL.finditer(text) if m.group(1).lower() in set(ordered)]
            if claimed and re.search(
                r"\b(?:my|our)\s+(?:work|company|business|office|usual|real|normal)\s+"
                r"(?:e-?mail|address|account|login)",
                text,
                re.IGNORECASE,
            ):
                found.append(
                    Flag("free_mail_impersonation", f"{sender} (free mail) claims the company address {claimed[0]}")
                )
    everything = "\n\n".join([text, *(words for _, words in hidden)])
    for name, patterns in _COMPILED.items():
        evidence = _first(patterns, everything)
        if evidence:
            found.append(Flag(name, f"“{evidence}”"))
    concealed = next(
        (f"hidden by {how}: “{words.strip()[:120]}”" for how, words in hidden if _TWO_WORDS.search(words)), ""
    )
    comment = _hidden_comment(text)
    if concealed or comment:
        found.append(Flag("hidden_text", concealed or f"“{comment}”"))
    return found


_TWO_WORDS = re.compile(r"[^\W\d_]{3,}\s+[^\W\d_]{3,}")


def _hidden_comment(text: str) -> str:
    """The first HTML comment holding words (``<!-- assistant: … -->``), found by plain searches: a regex that looks
    ahead for the closing ``-->`` from every ``<!--`` takes quadratic time on a long text with none."""
    start = text.find("<!--")
    while start != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            return ""
        if _TWO_WORDS.search(text, start + 4, end):
            return text[start : end + 3].strip()[:120]
        start = text.find("<!--", end + 3)
    return ""
