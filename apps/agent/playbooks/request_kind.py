"""Is a ticket a general how-to question, or does it describe a problem or ask us to act?

A playbook acts on the customer's own account, order or invoice: it fits "I never received this month's
invoice" or "can you unlock my account", not "where can I download our invoices?" or "how long does delivery
take?" — those are questions the knowledge base answers, even though they share every keyword with a
playbook's intent. The classification is per sentence and deliberately conservative: a ticket is a
``question`` only when some sentence asks how something works (or what the policy is) and no sentence reports
a problem or asks for an action. Anything else is ``actionable`` (or ``statement`` when neither kind of cue
appears), and matching carries on as before. The cue that decided is returned so the match can explain itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    QUESTION = "question"  # asks how something works, what the policy is, where to find something
    ACTIONABLE = "actionable"  # reports a problem with the customer's own things or asks us to act
    STATEMENT = "statement"  # neither (a feature request, a vague complaint): matching decides alone


ACTION_VERBS = (
    r"(?:re-?send|send|unlock|reset|check|look|confirm|retry|refund|cancel|re-?enable|enable|reactivate|restore|"
    r"log|sign|end|update|fix|verify|find|give|tell|charge|close|stop|lift|remove|grant|assign|install|restart|sync|"
    # what a device-management request asks: "can you push it again", "please redeploy / reinstall the app"
    r"re-?push|push|re-?deploy|deploy|re-?install|"
    # work asked of the IT team itself: "can you get back last Friday's copy", "could you put together a plan"
    r"get back|recover|retrieve|set up|put together|prepare|migrate)"
)
# Verbs that ask to be told, not for something to be done: "can you tell me", "could you explain".
INFO_VERBS = (
    r"(?:tell|explain|clarify|advise|point|show|recommend|suggest|describe|say|let (?:me|us) know|"
    r"help (?:me |us )?(?:understand|figure out|find out)|confirm (?:whether|if)|see|imagine|believe)"
)
# "I need to know", "I want to avoid a failed payment", "what do I need to do": wanting to learn or to prevent
# something asks nothing of us, where "I need a new invoice" does.
NOT_AN_ASK = r"(?! to (?:know|learn|understand|find out|figure out|avoid|prevent|prepare|plan|do\b))"
# Asking how something works, what the policy is, where something is found, what is possible.
QUESTION_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "how exactly do I", "where precisely can we": an adverb between changes nothing
        r"\bhow (?:\w+ly )?(?:do|can|could|should|would|does|is|are) (?:i|we|one|you|it|this|that|they|customers|"
        r"users)\b",
        r"\bhow (?:long|much|many|often|soon|quickly|far)\b",
        r"\bhow to\b",
        r"\bwhere (?:\w+ly )?(?:do|can|could|should|would) (?:i|we|one|you)\b",
        r"\bwhat (?:is|are|'s) your\b",
        r"\bwhat are the\b",
        r"\bwhat happens\b",
        r"\bwhat does (?:it|this|that) mean\b",
        r"\b(?:is|are) there (?:a|an|any)\b",
        r"\bis it possible\b",
        r"\b(?:do|does) (?:you|it|the app|your \w+) (?:offer|support|have|provide|ship|accept|include|work)\b",
        r"\bwhich \w+(?: \w+)? (?:do|does|are|is|include|includes|support|supports|can)\b",
        r"\bcan (?:i|we) (?:still )?(?:download|export|find|view|see|change|switch|turn|use|add|pay|get a copy)\b",
        r"\b(?:want|need|would like|'d like) to know\b",
        r"\b(?:tell|show) (?:me|us) how\b",
        r"\bexplain\b",
    )
)
# Asking us, in so many words, to do something.
ASK_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:can|could|would|will) you (?:please |kindly |just )?(?:\w+ )?{ACTION_VERBS}",
        # "could you clear that", "can you make sure nobody can use it": any verb asks us to do something, except
        # those that ask to be told something ("can you tell me how...", "could you explain...").
        rf"\b(?:can|could|would|will) you (?:please |kindly |just )?(?!{INFO_VERBS}\b)[a-z]{{3,}}\b",
        rf"\bplease (?:\w+ )?{ACTION_VERBS}\b",
    )
)
# Asking us to act, or saying that something of theirs did not arrive or does not work: these count anywhere.
REQUEST_CUES = (
    *ASK_CUES,
    *(
        re.compile(pattern, re.IGNORECASE)
        for pattern in (
            r"\b(?:never|not yet|didn't|didnt|did not|haven't|havent|have not|hasn't|hasnt|has not|isn't|wasn't|"
            r"still not|not) (?:\w+ )?(?:received|receive|arrived|arrive|got|get|come|came|shipped|delivered|"
            r"working|work|go through|went through|showing up|turned up)\b",
            r"\b(?:can't|cant|cannot|can not|unable to|couldn't|could not) (?:\w+ )?(?:log ?in|sign ?in|get in|"
            r"get into|access|remember|open|pay|use)\b",
            rf"\bi (?:need|want|would like|'d like|am requesting)\b{NOT_AN_ASK}",
            # Something of theirs misbehaves again and again: "Outlook keeps asking me for my password".
            r"\b(?:keeps?|kept) (?:on )?(?:asking|prompting|popping up|signing me out|logging me out|kicking me out|"
            r"crashing|freezing|disconnecting|dropping|failing)\b",
            # Asking for a person to act, in so many words: "could someone look at it?", "fix please".
            r"\b(?:can|could|would) (?:someone|somebody|anyone|one of you) (?:please )?(?:look|check|fix|help|sort|"
            r"call|come)\b",
            r"\bfix (?:it |this |that )?please\b",
        )
    ),
)
# Asking about the state of their own things ("where is my order?", "has our plan renewed?"): only their account
# answers these, never a help page.
OWN_STATE_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:where|what) is (?:my|our)\b",
        r"\b(?:has|have|did|was|is) (?:my|our)\b",
        r"\bwhen (?:will|does|did) (?:my|our)\b",
    )
)
# A state that is a problem when reported ("my account is locked"), but only the topic of a how-to question
# in the same sentence ("how long does an account stay locked?"): these count in sentences that ask nothing.
STATE_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:forgot|forgotten|locked|lockout|blocked|disabled|deactivated|suspended|declined|failed|failing|"
        r"expired|stolen|lost|past due|overdue|charged twice|double charged|duplicate charge|wrong|missing|"
        r"hacked|compromised|bounced|rejected|unlicen[cs]ed|not licen[cs]ed|no licen[cs]e|activation failed)\b",
        # an app's licence message quoted: "it says my account doesn't have a license that includes the Office apps"
        r"\b(?:doesn't|does not|don't|do not) have (?:a|any) licen[cs]e\b",
    )
)
# A state in a sentence about what might happen ("I want to avoid a failed payment", "in case my card expires") is
# not a report of it.
HYPOTHETICAL = re.compile(
    r"\b(?:avoid|prevent|in case|what if|if (?:my|our|a|an|the|we|i)|before it happens|would happen)\b", re.IGNORECASE
)
_SENTENCES = re.compile(r"(?<=[.?!])\s+|\n+")


@dataclass(frozen=True)
class RequestKind:
    kind: Kind
    cue: str = ""  # the words that decided, for the match's reasons

    @property
    def question_only(self) -> bool:
        return self.kind is Kind.QUESTION


def _first_cue(cues: tuple[re.Pattern[str], ...], text: str) -> str:
    for cue in cues:
        found = cue.search(text)
        if found:
            return found.group(0)
    return ""


# The same asks, minus those that ask to be told something ("could you tell me how…", "please let me know") and a
# bare "will you …?", which asks what we will do ("do we lose those events, or will you send them again later?").
DIRECT_ASK_CUES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"\b(?:(?:can|could|would) you (?:please |kindly |just )?|will you (?:please|kindly) )(?!{INFO_VERBS}\b)"
        r"[a-z]{3,}\b",
        rf"\bplease (?!{INFO_VERBS}\b)(?:\w+ )?{ACTION_VERBS}\b",
    )
)


def asks_us_to_act(sentence: str) -> str:
    """The words with which a sentence asks us to do something ("can you please turn my user on"), or ""."""
    return _first_cue(DIRECT_ASK_CUES, sentence.replace("\u2019", "'"))


def asks_about_own_state(text: str) -> bool:
    """Whether some sentence asks about the state of the requester's own things ("is my subscription active?")."""
    return bool(_first_cue(OWN_STATE_CUES, text.replace("\u2019", "'")))


def classify(text: str) -> RequestKind:
    """The ticket's kind from its title and body (``TicketView.text``); apostrophes normalised first."""
    text = text.replace("\u2019", "'")
    problem = question = ""
    for sentence in _SENTENCES.split(text):
        asks = _first_cue(QUESTION_CUES, sentence)
        reported = "" if asks or HYPOTHETICAL.search(sentence) else _first_cue(STATE_CUES, sentence)
        problem = problem or _first_cue(REQUEST_CUES, sentence) or _first_cue(OWN_STATE_CUES, sentence) or reported
        question = question or asks
    if problem:
        return RequestKind(Kind.ACTIONABLE, problem)
    if question:
        return RequestKind(Kind.QUESTION, question)
    return RequestKind(Kind.STATEMENT)
