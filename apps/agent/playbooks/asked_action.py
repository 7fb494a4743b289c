"""Which distinct operations a ticket explicitly asks us to perform, so a playbook never does something else.

"Please issue a corrected version of that invoice with our new address" shares every word and most of its
meaning with "please send me the invoice again", yet re-sending the old invoice is not what was asked. A
playbook whose intents never ask for the operation a ticket asks for must not run on it: the ticket goes to a
person (or the knowledge base) instead of getting a different action that merely sounds close.

Only operations that are plainly different things to do are named here — issuing or correcting a document,
deleting, merging, transferring, cancelling, changing plan, extending, waiving, restoring from a backup,
renaming, splitting. Verbs whose meaning depends on their object ("change my password", "update my card",
"check", "send", "unlock") are left to the semantic match: a word list never vetoes what it cannot tell apart.
An operation counts only where the ticket asks for it ("please merge…", "could you extend…", "I need you to
cancel…"), never where it is merely mentioned ("did my subscription get cancelled?"), and a mail disclaimer's
"if you are not the intended recipient, please delete it" asks nothing of us.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# One operation each; the patterns are verb stems as they follow a request cue.
OPERATIONS: dict[str, str] = {
    "issue a document": r"(?:re-?)?issu(?:e|ing)|re-?generat(?:e|ing)|correct(?:ing)?|amend(?:ing)?",
    "delete": r"delet(?:e|ing)|eras(?:e|ing)|purg(?:e|ing)",
    "merge": r"merg(?:e|ing)|combin(?:e|ing)|consolidat(?:e|ing)",
    "transfer": r"transfer(?:ring)?|migrat(?:e|ing)",
    "cancel": r"cancel(?:l?ing)?|terminat(?:e|ing)",
    "change plan": r"upgrad(?:e|ing)|downgrad(?:e|ing)",
    "extend": r"extend(?:ing)?|prolong(?:ing)?",
    "waive": r"waiv(?:e|ing)|discount(?:ing)?",
    "restore data": r"restor(?:e|ing)|recover(?:ing)?|roll(?:ing)? back|revert(?:ing)?|undo(?:ing)?",
    "rename": r"renam(?:e|ing)",
    "split": r"split(?:ting)?",
}
# What introduces an ask: "please", "could you (please)", "I need you to", "we'd like you to", "kindly".
_CUE = (
    r"(?:\bplease|\bkindly|\b(?:can|could|would|will) you(?: please| kindly| just| also)?|"
    r"\b(?:i|we)(?: need| want| would like|['\u2019]d like) you to|\b(?:i am|we are) asking you to)"
)
_ASKS = {
    name: re.compile(rf"{_CUE}\s+(?:also\s+|just\s+|then\s+)?(?:{verbs})\b", re.IGNORECASE)
    for name, verbs in OPERATIONS.items()
}
# Any mention of the operation's verb: what a playbook's own intent phrasings do (or say they are about).
_MENTIONS = {name: re.compile(rf"\b(?:{verbs})", re.IGNORECASE) for name, verbs in OPERATIONS.items()}
_DISCLAIMER = re.compile(r"intended recipient|received this (?:e-?mail|message) in error|confidential", re.IGNORECASE)
_PARAGRAPH_END = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def asked_operations(text: str) -> frozenset[str]:
    """The operations some sentence of ``text`` asks for. A mail disclaimer (from its first sentence to the end of
    its paragraph: "This message is confidential. Please delete it…") is left out."""
    asked: set[str] = set()
    for paragraph in _PARAGRAPH_END.split(text):
        for sentence in _SENTENCE_END.split(paragraph):
            if _DISCLAIMER.search(sentence):
                break
            asked.update(name for name, pattern in _ASKS.items() if pattern.search(sentence))
    return frozenset(asked)


@functools.lru_cache(maxsize=256)
def _covered(phrasings: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name for name, pattern in _MENTIONS.items() if any(pattern.search(p) for p in phrasings))


def operations_covered(intents: Iterable[str]) -> frozenset[str]:
    """The operations a playbook's intent phrasings speak of: the asks it was written for."""
    return _covered(tuple(intents))


def unasked_for(asked: frozenset[str], intents: Iterable[str]) -> str:
    """The first operation the ticket asks for that the playbook's intents never speak of ("" when none)."""
    missing = sorted(asked - operations_covered(intents))
    return missing[0] if missing else ""
