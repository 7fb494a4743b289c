"""Who is asking, and whose account a tool call or a reply is about (SAF, GOV-5, MSP-1).

A ticket's **requester** is the channel's own identity: the email ``From`` (with the receiving server's
authentication verdict when it recorded one), the help desk's requester, the widget's signed visitor — never an
address or a name found in the text. Gaby acts only for that person.

Connectors describe accounts in their results: a Keycloak user, a Stripe customer or invoice, a row of an
``orders`` table. An ``AccountBook`` is kept per investigation and learns from every result whose owner it can
tell, by the declared rule *the account whose email equals the requester's verified email*: a record with an
email field (``email``, ``customer_email``, ...) belongs to that address, and so do the identifiers in it (its
``id``, ``username``, invoice ``number``, tracking number...). With it the safety gate can say, for any tool
call, whether the call names the requester's account, someone else's, or nothing it knows:

* an argument that contains an email address other than the requester's names a third party;
* an argument equal to an identifier the book learned belongs only to other people names a third party.

The same book tells the reply check what must not be disclosed: the identifiers and names of records that
belong to someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.safety.suspicion import authentication_failed

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Fields whose value is the address that owns the record they are in.
OWNER_FIELDS = ("email", "customer_email", "user_email", "billing_email", "receipt_email", "contact_email")
# Fields that identify a person by name: another person's name is theirs to keep.
NAME_FIELDS = (
    "name",
    "customer_name",
    "full_name",
    "firstName",
    "lastName",
    "first_name",
    "last_name",
    "username",
    "company",
    "company_name",
)
MIN_IDENTIFIER = 5  # shorter values (a plan "Team", a status "paid", a count) say nothing about whose record it is
MIN_NAME = 3
MIN_VALUE = 4  # a plan ("enterprise"), a status, a carrier: another person's, when only they own it
MAX_DEPTH = 8


@dataclass(frozen=True)
class Requester:
    """The person a ticket or a chat acts for, as the channel identified them."""

    email: str = ""  # lower-cased; "" when the channel has no address (then nothing can be bound to them)
    name: str = ""
    channel: str = ""  # "email", "zendesk", "widget", ...
    authentication: str = ""  # the recorded verdict, e.g. "spf=pass dkim=pass dmarc=pass"
    authorized_for_others: bool = False  # an Admin listed this address as an authorized contact

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip().lower())

    @property
    def verified(self) -> bool:
        """False when the channel reported that the sender failed authentication (DMARC, or SPF without DKIM), or
        that the address is only what the requester typed (a chat visitor without a signed identity)."""
        return not authentication_failed(self.authentication)

    def is_me(self, address: str) -> bool:
        return bool(self.email) and address.strip().lower() == self.email


@dataclass(frozen=True)
class Subject:
    """Whose account a call names: ``requester``, ``third_party`` (with the evidence) or ``unknown``."""

    kind: str
    evidence: tuple[str, ...] = ()

    @property
    def third_party(self) -> bool:
        return self.kind == "third_party"

    def describe(self) -> str:
        return "; ".join(self.evidence)


def _identifier_like(value: str) -> bool:
    return len(value) >= MIN_IDENTIFIER and any(ch.isdigit() or ch in "@_-." for ch in value)


def _scalars(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string (and integer, as text) in a JSON value."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _scalars(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _scalars(item, depth + 1)


def _owner_of(record: Mapping[str, Any]) -> str:
    for key in OWNER_FIELDS:
        value = record.get(key)
        if isinstance(value, str) and EMAIL.fullmatch(value.strip()):
            return value.strip().lower()
    return ""


@dataclass
class AccountBook:
    """What one investigation learned about whose records its tool results hold."""

    requester: Requester
    owners: dict[str, set[str]] = field(default_factory=dict)  # identifier (lower-cased) -> owner addresses
    names: dict[str, set[str]] = field(default_factory=dict)  # a person's name -> owner addresses
    values: dict[str, set[str]] = field(default_factory=dict)  # any other text of a record -> owner addresses

    def learn(self, data: Any) -> None:
        """Bind the identifiers of every record with an owner address in ``data`` to that owner."""
        self._walk(data, inherited="", depth=0)

    def _walk(self, value: Any, *, inherited: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(value, list | tuple):
            for item in value:
                self._walk(item, inherited=inherited, depth=depth + 1)
            return
        if not isinstance(value, Mapping):
            return
        columns, rows = value.get("columns"), value.get("rows")
        if isinstance(columns, list) and isinstance(rows, list):  # a table: {"columns": [...], "rows": [[...]]}
            for row in rows:
                record = dict(zip(columns, row, strict=False)) if isinstance(row, list) else row
                self._walk(record, inherited=inherited, depth=depth + 1)
            return
        owner = _owner_of(value) or inherited
        for key, item in value.items():
            if isinstance(item, Mapping | list | tuple):
                self._walk(item, inherited=owner, depth=depth + 1)
            elif owner and isinstance(item, str | int) and not isinstance(item, bool):
                text = str(item).strip()
                if key in NAME_FIELDS and len(text) >= MIN_NAME and not EMAIL.fullmatch(text):
                    self.names.setdefault(text.lower(), set()).add(owner)
                if _identifier_like(text):
                    self.owners.setdefault(text.lower(), set()).add(owner)
                elif len(text) >= MIN_VALUE:
                    self.values.setdefault(text.lower(), set()).add(owner)

    def subject(self, arguments: Mapping[str, Any]) -> Subject:
        """Whose account the arguments of a call name."""
        evidence: list[str] = []
        mine = False
        for text in _scalars(arguments):
            for address in EMAIL.findall(text):
                if self.requester.is_me(address):
                    mine = True
                else:
                    evidence.append(f"names {address.lower()}, not the requester")
            key = text.strip().lower()
            owners = self.owners.get(key) or self.names.get(key)
            if owners:
                if self.requester.email in owners:
                    mine = True
                else:
                    evidence.append(f"{text.strip()} belongs to {', '.join(sorted(owners))}")
        if evidence:
            return Subject("third_party", tuple(dict.fromkeys(evidence)))
        return Subject("requester" if mine else "unknown")

    def others_data(self) -> dict[str, str]:
        """Values that belong only to people other than the requester: value -> whose (for the reply check)."""
        found: dict[str, str] = {}
        for table in (self.owners, self.names, self.values):
            for value, owners in table.items():
                if self.requester.email not in owners:
                    found[value] = ", ".join(sorted(owners))
        for owners in [*self.owners.values(), *self.names.values(), *self.values.values()]:
            for owner in owners:
                if not self.requester.is_me(owner):
                    found[owner] = owner
        return found


@dataclass(frozen=True)
class Disclosure:
    value: str
    owner: str


def disclosures(reply: str, book: AccountBook, *, ticket_text: str = "") -> list[Disclosure]:
    """The other people's data that ``reply`` contains (whole words, case-insensitive).

    What the requester wrote themselves (``ticket_text``) is not disclosed by repeating it."""
    if not reply:
        return []
    lowered, written = reply.lower(), ticket_text.lower()
    found = []
    for value, owner in book.others_data().items():
        if value in written:
            continue
        if re.search(rf"(?<![\w@.-]){re.escape(value)}(?![\w@-])", lowered):
            found.append(Disclosure(value, owner))
    return found
