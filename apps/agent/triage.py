"""What kind of ticket is this, who is asking, and is anything off? Decided before any playbook or knowledge answer.

The kinds (shown on the investigation with the words that decided):

* ``question`` — asks how something works, what the policy is, where to find something; the only kind the
  knowledge fallback may close;
* ``action_request`` — asks Gaby to do something, or says something of theirs did not arrive or does not work;
  a playbook may take it, else it escalates;
* ``incident`` — a bug or error report (even one phrased as a question: "why does the export crash?"), or a possible
  account compromise ("typed my password on that page", "emails I did not send");
* ``outage`` — the service is down for them or for many;
* ``complaint`` — anger, a demand for a manager, "third time I write";
* ``legal`` — lawyers, data-subject requests, contract changes;
* ``suspicious`` — any suspicion flag (apps/safety/suspicion.py): never auto-acts.

Separately, **on behalf of another person**: the requester's own words name someone else's address, talk about a
colleague's or a boss's account, or forward a message someone else wrote. Gaby may answer such a
ticket's question from the knowledge base but runs no playbook on it, unless an Admin listed the requester as an
authorized contact (apps/safety/models.py ``AuthorizedContact``).

The cues are per sentence of the requester's own words (apps/tickets/reading.py strips signatures, quotes and
forwards first), in English with the commonest German, French and Spanish forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from apps.agent.contracts import Verdict
from apps.agent.playbooks.request_kind import ACTION_VERBS, NOT_AN_ASK, QUESTION_CUES
from apps.safety.requester import EMAIL, Requester
from apps.safety.suspicion import Flag
from apps.tickets.reading import ReadTicket


class TicketKind(StrEnum):
    QUESTION = "question"
    ACTION_REQUEST = "action_request"
    INCIDENT = "incident"
    OUTAGE = "outage"
    COMPLAINT = "complaint"
    LEGAL = "legal"
    SUSPICIOUS = "suspicious"
    OTHER = "other"  # neither asks nor reports: a person reads it


def _cues(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


# Questions in the other languages Gaby reads (the English ones are request_kind.QUESTION_CUES), applied only
# to a ticket in that language ("was" is German for "what" and English for something else).
FOREIGN_QUESTION_CUES = {
    "de": _cues(
        r"\b(?:wie|wo|wann|warum|was|welche[rsnm]?|wieviel|wie viele|kann ich|können wir|gibt es|"
        r"ist es möglich)\b"
    ),
    "fr": _cues(r"\b(?:comment|où|quand|pourquoi|quel(?:le)?s?|combien|est-ce que|puis-je|pouvons-nous|y a-t-il)\b"),
    # "puedo"/"podemos" ask ("¿puedo cambiar…?") unless negated: "no puedo imprimir" reports a problem.
    "es": _cues(
        r"(?:¿|\b(?:cómo|dónde|cuándo|por qué|cuál|cuánto|cuántos|hay algún|hay alguna|es posible)\b"
        r"|(?<!\bno )\b(?:puedo|podemos)\b)"
    ),
}
# Someone named as the object of an access change: me, us, a pronoun, a capitalised name or an email address.
_PERSON = r"(?:me|us|him|her|them|(?-i:[A-Z][a-z'-]+)(?: (?-i:[A-Z][a-z'-]+))?|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
# Asking Gaby to do something: "can you unlock", "please resend", "bitte entsperren". "I need", "I want" ask too,
# unless the ticket also asks how to do it itself.
STRONG_ASK_CUES = _cues(
    rf"\b(?:can|could|would) you (?:please |kindly |just )?(?:\w+ )?{ACTION_VERBS}\b",
    rf"\bplease (?:\w+ )?{ACTION_VERBS}\b",
    # Adding a person to something is an access change, asked for: "can you add me to the partners mailbox?",
    # "could you put Sam Ortiz in the Litigation group". Only a person (me, a pronoun, a capitalised name, an
    # address) is the object, so "can you add our VAT number to the invoices?" stays a question for the help center.
    rf"\b(?:(?:can|could|would) you (?:please |kindly |just )?|please )(?:add|put|include) {_PERSON} "
    r"(?:to|in|into|on)\b",
    # Asking for access is asking for it to be given, not how access works: "can I get access to the billing@
    # inbox?", "can Sam Ortiz (sam@…) have full access to intake@?", "give Priya access to books@".
    rf"\b(?:can|could|may) (?:i|we|{_PERSON})(?: \([^)]{{0,80}}\))? (?:please )?(?:get|have|be given|be granted) "
    r"(?:\w+ ){0,2}access\b",
    rf"\b(?:give|grant) {_PERSON}(?: \([^)]{{0,80}}\))? (?:\w+ ){{0,2}}access\b",
    # An office manager's "Lee Chen needs to see the books@ inbox", "Priya needs access to the Tax Season group".
    rf"\b{_PERSON} (?:needs?|requires?) (?:full |read |edit )?access to\b",
    rf"\b{_PERSON} needs? to (?:see|get into|open|read) (?:the |our )?[\w@.-]+ (?:inbox|mailbox|folder|group|"
    r"calendar)\b",
    r"\b(?:bitte|könnten sie|können sie|würden sie)\b.{0,60}\b(?:entsperren|zurücksetzen|senden|schicken|"
    r"erstatten|stornieren|kündigen|prüfen)\b",
    r"\b(?:pouvez-vous|pourriez-vous|merci de|veuillez)\b.{0,60}\b(?:débloquer|réinitialiser|renvoyer|envoyer|"
    r"rembourser|annuler|vérifier|déconnecter)\b",
    r"\b(?:pueden|podrían|podria|por favor)\b.{0,60}\b(?:desbloquear|restablecer|reenviar|enviar|reembolsar|"
    r"cancelar|revisar|cerrar)\b",
)
WEAK_ASK_CUES = _cues(rf"\b(?:i|we) (?:need|want|would like|'d like|am requesting|are requesting)\b{NOT_AN_ASK}")
# Something of the requester's is stuck (they cannot sign in, an email never came): the help center may hold the
# way out, so with no ask and no malfunction it counts as a question about their situation.
PROBLEM_CUES = _cues(
    r"\b(?:never|not yet|didn't|didnt|did not|haven't|havent|have not|hasn't|hasnt|has not|still not) (?:\w+ )?"
    r"(?:received|receive|arrived|arrive|got|get|come|came|shipped|delivered|showing up|turned up)\b",
    r"\b(?:can't|cant|cannot|can not|unable to|couldn't|could not) (?:\w+ )?(?:log ?in|sign ?in|get in|get into|"
    r"access|remember|open|pay|use)\b",
    r"\b(?:forgot|forgotten|locked|lockout|blocked|disabled|deactivated|suspended|declined|failed|expired|stolen|lost|"
    r"past due|overdue|charged twice|double charged|duplicate charge|bounced|rejected)\b",
    r"\b(?:ich kann mich nicht|komme nicht mehr|gesperrt|vergessen|nie erhalten|nicht erhalten|nicht angekommen)\b",
    r"\b(?:je n'arrive pas|je ne peux pas|impossible de|bloqué|oublié|jamais reçu|pas reçu)\b",
    r"\bno (?:puedo|consigo) (?:entrar|acceder|iniciar)\b|\b(?:bloquead[oa]|olvidé|no he recibido|no ha llegado)\b",
)
# A malfunction: in a sentence that asks nothing it is a report, and in the asking sentence itself ("why does the
# export crash?") the question is about a bug, not how something works.
MALFUNCTION_CUES = _cues(
    r"\b(?:crash(?:es|ed|ing)?|bug|exception|stack ?trace|traceback|freez(?:es|ing)|froze|hangs?|hanging|"
    r"error(?:s)? (?:message|code)?|throws?|broken|corrupt(?:ed)?|glitch|regression|blank (?:white )?(?:page|screen)|"
    r"(?:does ?n[o']?t|doesnt|do not|dont|won't|wont|isn't|is not|stopped|stops?) (?:work|load|open|save|sync|"
    r"show|display|export|import|respond)(?:ing|s)?|not working|no longer (?:work|load|open|sync|validat|show|"
    r"arriv|send)\w*|(?<!payment )(?<!card )(?<!charge )(?:fails|failing)|keeps? (?:failing|crashing|"
    r"spinning|loading)|something went wrong|random order|out of order|disappear(?:s|ed)?|missing from|"
    r"wrong (?:result|total|data|"
    r"number)s?|500|502|504)\b",
    r"\b(?:stürzt|absturz|fehlermeldung|funktioniert nicht|geht nicht|lädt nicht|plante|ne fonctionne pas|"
    r"ne marche pas|erreur|no funciona|se bloquea|se cuelga|falla)\b",
)
# Someone else may hold the requester's account: a technician looks, whatever the ticket asks ("what do I do?").
COMPROMISE_CUES = _cues(
    r"\b(?:typed|entered|put|gave|submitted) (?:in )?(?:my|our) (?:\w+ )?(?:password|credentials|login details|"
    r"login|pin)\b[^.?!]{0,30}\b(?:on|into|in|to) (?:a|the|that|this|their|some) (?:\w+ )?(?:page|site|website|"
    r"form|link|login)",
    r"\be-?mails? (?:\w+ ){0,6}(?:that |which )?(?:i|we) (?:did not|didn't|didnt|never|have not|haven't) (?:send|sent|"
    r"write|written)\b",
    r"\b(?:someone|somebody|a stranger|an unknown person) (?:has |had )?(?:signed|logged|got) (?:in|into|on)(?: to)? "
    r"(?:my|our) (?:\w+ )?account",
    r"\b(?:my|our) (?:\w+ )?(?:account|mailbox|e-?mail) (?:was|has been|got|is) (?:hacked|compromised|taken over)\b",
    r"\b(?:is|was|has|have) (?:my|our) (?:\w+ )?(?:account|mailbox|e-?mail|computer|laptop|pc|network|system)s? "
    r"(?:been )?(?:hacked|compromised)\b",
    # A password typed into a page an email led to: "I opened a DocuSign email and put in my email password".
    r"\b(?:opened|clicked)\b[^.?!]{0,80}\b(?:e-?mail|link|attachment|message)\b[^.?!]{0,80}\b(?:typed|entered|put|"
    r"gave|submitted) (?:in )?(?:my|our) (?:\w+ )?(?:password|credentials|login)",
    # Mail going out that the requester did not write: "clients say they got a weird email from me".
    r"\b(?:they|clients?|customers?|people|contacts|colleagues|everyone) (?:are |have |keep )?(?:been )?(?:getting|"
    r"receiving|got|received) (?:a |an )?(?:\w+ )?(?:weird|strange|odd|suspicious|fake|spam|phishing) e-?mails? "
    r"(?:\w+ ){0,4}from (?:me|my (?:account|address|mailbox)|us)\b",
    # Payment fraud: money sent to bank details a mail changed, the vendor never did.
    r"\b(?:paid|wired|transferred|sent)\b[^.?!]{0,80}\b(?:new|fake|changed|different|updated) bank(?:ing)? "
    r"(?:details|account|info\w*)",
    r"\b(?:wire|invoice|payment) fraud\b|\bbusiness e-?mail compromise\b",
    # The identity provider's own alarm quoted: "your account has been locked to prevent unauthorized use".
    r"\b(?:locked|blocked|suspended)\b[^.?!]{0,60}\b(?:to prevent unauthori[sz]ed (?:use|access)|(?:because of|due "
    r"to) (?:suspicious|unusual) (?:activity|sign-?ins?))",
    r"\b(?:unusual|suspicious) (?:sign-?in|log-?in|login) (?:activity|attempts?)\b",
    r"\b(?:gehackt|kompromittiert|piraté|compromis|hackead[oa]|hackearon|comprometid[oa])\b",
)
OUTAGE_CUES = _cues(
    r"\b(?:outage|(?:is|are|seems?|site|app|service|api|everything|platform|login page|website) (?:is |are )?"
    r"(?:completely |totally )?down|went down|can't reach|cannot reach|unreachable|not (?:loading|responding) for "
    r"(?:anyone|everyone|any of us|the whole)|(?:nobody|no one|none of us|everyone|entire (?:team|company)|whole "
    r"(?:team|company|office)) (?:can|can't|cannot|is unable)|503|service unavailable|gateway timeout)\b",
    r"\b(?:ausfall|nicht erreichbar|panne|hors service|inaccessible|caído|caida|no está disponible|sin servicio)\b",
)
COMPLAINT_CUES = _cues(
    r"\b(?:unacceptable|ridiculous|outrageous|disgrace(?:ful)?|furious|appalled|appalling|terrible service|"
    r"worst (?:service|support|experience)|fed up|sick (?:and tired )?of|(?:third|fourth|fifth|several|multiple|"
    r"many) times? (?:now|already|i(?:'ve| have)? (?:written|asked|contacted))|speak (?:to|with) (?:a|your) "
    # "this is a scam" complains; "is this legit or a scam?" asks whether a message is genuine
    r"(?:manager|supervisor)|file a (?:formal )?complaint|formal complaint|(?<!or a )scam(?!\s*\?)|rip-?off|"
    r"never again|nobody (?:answers|responds|replies|gets back))\b",
    r"\b(?:unverschämt|inakzeptabel|beschwerde|frechheit|inadmissible|scandaleux|réclamation|inaceptable|"
    r"vergonzoso|queja formal|reclamación)\b",
)
LEGAL_CUES = _cues(
    r"\b(?:lawyer|attorney|solicitor|legal (?:action|department|team|counsel|steps|proceedings)|lawsuit|sue you|"
    r"take you to court|court order|subpoena|cease and desist|liability (?:clause|cap)|indemnif\w*|breach of "
    r"(?:contract|the agreement)|(?:amend|change|modify|negotiate)\w* (?:to )?(?:the |our )?(?:contract|agreement|"
    r"msa|dpa|terms)|data subject (?:access )?request|dsar|right (?:to|of) (?:access|erasure|be forgotten|"
    r"rectification|portability)|article (?:15|16|17|20) (?:of the )?(?:gdpr|dsgvo)|(?:gdpr|dsgvo) art(?:icle|\.)? ?"
    r"(?:15|16|17|20))\b",
    r"\b(?:anwalt|rechtsanwalt|abmahnung|klage|avocat|mise en demeure|poursuites|abogado|demanda judicial|"
    r"acciones legales)\b",
)
# The requester talks about somebody else's account.
_PEOPLE = (
    r"(?:colleague|coworker|co-worker|boss|manager|ceo|cfo|director|assistant|employee|intern|team ?mate|"
    r"client|customer|wife|husband|partner|son|daughter|dispatcher|staff member|user)"
)
OTHERS_CUES = _cues(
    rf"\b(?:my|our|a) {_PEOPLE}(?:'s|s') (?:\w+ )?(?:account|login|password|access|order|invoice|subscription|"
    r"sessions?|2fa|mfa)",
    rf"\b(?:my|our|a) {_PEOPLE}(?: \w+)? (?:can't|cannot|can not|is unable|isn't able|forgot|is locked|got locked|"
    r"has been locked|lost|needs|wants|asked me|never received|didn't receive)\b",
    r"\bhelp (?:my |our )?(?:\w+ )?below\b",
    r"\b(?:for|on behalf of) (?:my|our) (?:colleague|coworker|co-worker|boss|manager|ceo|cfo|director|employee|"
    r"client|customer)\b",
    r"\bon behalf of\b",
    r"\b(?:his|her|their) (?:\w+ )?(?:account|login|password|access|mailbox|2fa|mfa|order|invoice|subscription|"
    r"package|tracking|card|charge|refund)s?\b",
    r"\b(?:unlock|reset|re-?enable|sign out|log out|refund|cancel) (?:him|her|them)\b",
    r"\b(?:mein(?:e|en)? (?:kollegin|kollege|kollegen|chef|chefin|mitarbeiter\w*)|im auftrag von|für (?:meinen|meine) "
    r"(?:chef|chefin|kollegen|kollegin))\b",
    r"\b(?:mon collègue|ma collègue|mon patron|ma patronne|mon responsable|de la part de|pour le compte de)\b",
    r"\b(?:mi compañer[oa]|mi colega|mi jefe|mi jefa|en nombre de)\b",
)
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
THIRD_PERSON = re.compile(
    r"\b(?:he|she|him|her|his|hers|they|them|their|er|sie|ihm|ihr|il|elle|lui|él|ella)\b", re.IGNORECASE
)
# In the asking sentence itself these make a "why" question a bug report: "why does the export crash?".
BUG_WORDS = re.compile(
    r"\b(?:crash\w*|freez\w*|froze|hang\w*|exception|error\w*|bug\w*|broken|blank|dies|die|died|went wrong|"
    r"stuck|times? out|timed out)\b",
    re.IGNORECASE,
)
WHY = re.compile(
    r"(?i)\s*(?:(?:hi|hello|hey|hallo|bonjour|hola|ok|so)[,!.]?\s+)?(?:why|how come|warum|pourquoi|por qué)\b"
)
MIN_QUESTION_WORDS = 4


@dataclass
class Assessment:
    """How Gaby read one ticket; stored on the investigation (``assessment``) and shown there."""

    requester: Requester
    kind: TicketKind
    why: str
    language: str = "en"
    flags: list[Flag] = field(default_factory=list)
    on_behalf_of_other: str = ""  # the evidence; "" when the ticket is about the requester's own things
    questions: list[str] = field(default_factory=list)  # the asking sentences, for multi-part answers
    how_to: bool = False  # some sentence asks how something works
    acts_for: str = ""  # whose account a playbook may act on: the requester's, or the one an authorized contact named
    compromise: str = ""  # someone else may hold the account: a technician decides every step, no playbook runs
    read: ReadTicket | None = None

    @property
    def knowledge_may_answer(self) -> bool:
        """Only a question, and for another person only one that asks how something works: the help center's
        answer is nobody's data, but "can you let her back in?" is not a question it answers."""
        return self.kind is TicketKind.QUESTION and (not self.on_behalf_of_other or self.how_to)

    @property
    def suspicious(self) -> bool:
        return bool(self.flags)

    @property
    def suspicion(self) -> str:
        """Why the gate holds every write made for this ticket: its flags, and a possible account compromise."""
        reasons = [f"{flag.name}: {flag.evidence}" for flag in self.flags]
        if self.compromise:
            reasons.append(f"possible account compromise: “{self.compromise}”")
        return "; ".join(reasons)

    @property
    def may_act(self) -> bool:
        """Whether a playbook may act on this ticket at all: never when flagged or when the account may be in
        someone else's hands; for another person only when the requester is an authorized contact who named that
        person's address."""
        if self.flags or self.compromise or not self.acts_for:
            return False
        return not self.on_behalf_of_other or self.requester.authorized_for_others

    def escalation_verdict(self) -> Verdict:
        return Verdict.NEEDS_TECH if self.kind in {TicketKind.INCIDENT, TicketKind.OUTAGE} else Verdict.NEEDS_L2

    def describe(self) -> str:
        parts = [f"{self.kind.value.replace('_', ' ')} ({self.why})", f"language {self.language}"]
        if self.on_behalf_of_other:
            parts.append(f"on behalf of another person: {self.on_behalf_of_other}")
        if self.flags:
            parts.append(f"flagged: {self.suspicion}")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        requester = self.requester
        return {
            "kind": self.kind.value,
            "why": self.why,
            "language": self.language,
            "flags": [flag.as_dict() for flag in self.flags],
            "on_behalf_of_other": self.on_behalf_of_other,
            "questions": self.questions,
            "how_to": self.how_to,
            "acts_for": self.acts_for,
            "requester": {
                "email": requester.email,
                "name": requester.name,
                "channel": requester.channel,
                "verified": requester.verified,
                "authentication": requester.authentication,
                "authorized_contact": requester.authorized_for_others,
            },
            "stripped": {
                "quoted": bool(self.read and self.read.quoted),
                "forwarded": bool(self.read and self.read.forwarded),
                "signature": bool(self.read and self.read.signature),
            },
        }


def _first(cues: tuple[re.Pattern[str], ...], text: str) -> str:
    for cue in cues:
        found = cue.search(text)
        if found:
            return found.group(0).strip()
    return ""


def _asks(sentence: str, language: str) -> str:
    asked = _first(QUESTION_CUES, sentence) or _first(FOREIGN_QUESTION_CUES.get(language, ()), sentence)
    if not asked and sentence.rstrip().endswith("?"):
        asked = "?"
    return asked


def sentences(text: str) -> list[str]:
    """Sentences of a text whose lines may be hard-wrapped: a line break inside a paragraph joins, a blank line,
    a list item or an end of sentence splits."""
    text = text.replace("\u2019", "'").replace("\r\n", "\n")
    text = re.sub(r"\n(?=\s*(?:[-*•]|\d+[.)])\s)", "\n\n", text)  # each list item on its own
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        found += [s.strip() for s in _SENTENCES.split(" ".join(paragraph.split())) if s.strip()]
    return found


@dataclass(frozen=True)
class Classification:
    kind: TicketKind
    why: str  # the words that decided
    questions: list[str]  # the asking sentences
    how_to: bool = False  # some sentence asks how something works (not only a "?" after a request)
    compromise: str = ""  # the words that say someone else may hold the requester's account


def classify(title: str, request: str, *, flags: list[Flag], language: str = "en") -> Classification:
    """The kind of a ticket from its title and its requester's words, and the words that decided."""
    text = f"{title}\n\n{request}".replace("\u2019", "'")
    all_sentences = sentences(text)
    questions = [s for s in sentences(request) if _asks(s, language)]
    if flags:
        return Classification(TicketKind.SUSPICIOUS, flags[0].name.replace("_", " "), questions)
    legal = _first(LEGAL_CUES, text)
    if legal:
        return Classification(TicketKind.LEGAL, legal, questions)
    complaint = _first(COMPLAINT_CUES, text)
    if complaint:
        return Classification(TicketKind.COMPLAINT, complaint, questions)
    compromise = _first(COMPROMISE_CUES, text)
    if compromise:
        why = f"a possible account compromise: {compromise!r}"
        return Classification(TicketKind.INCIDENT, why, questions, compromise=compromise)
    asked = how_to = strong = weak = problem = outage = malfunction = why_bug = ""
    for sentence in all_sentences:
        asks = _asks(sentence, language)
        asked = asked or asks
        how_to = how_to or (asks if asks != "?" else "")
        strong = strong or _first(STRONG_ASK_CUES, sentence)
        weak = weak or _first(WEAK_ASK_CUES, sentence)
        broken = _first(MALFUNCTION_CUES, sentence)
        if not asks:
            outage = outage or _first(OUTAGE_CUES, sentence)
            malfunction = malfunction or broken
            problem = problem or _first(PROBLEM_CUES, sentence)
        elif WHY.match(sentence) and BUG_WORDS.search(sentence):
            why_bug = why_bug or BUG_WORDS.search(sentence).group(0)  # type: ignore[union-attr]
    real_question = how_to or next(
        (q for q in questions if len(re.findall(r"[^\W\d_]{3,}", q)) >= MIN_QUESTION_WORDS), ""
    )
    how = bool(how_to)
    if outage:
        return Classification(TicketKind.OUTAGE, outage, questions, how)
    if strong:
        return Classification(TicketKind.ACTION_REQUEST, strong, questions, how)
    if why_bug:
        return Classification(TicketKind.INCIDENT, f"asks why something is broken: {why_bug!r}", questions, how)
    if malfunction and not how_to:
        return Classification(TicketKind.INCIDENT, malfunction, questions)  # asking what an error means: a question
    if weak and not real_question:
        return Classification(TicketKind.ACTION_REQUEST, weak, questions, how)
    if asked:
        return Classification(TicketKind.QUESTION, asked, questions, how)
    if problem:
        return Classification(TicketKind.QUESTION, f"a problem the help center may solve: {problem!r}", questions, how)
    return Classification(TicketKind.OTHER, "neither asks a question nor reports a problem", questions, how)


def on_behalf_of_other(read: ReadTicket, requester: Requester) -> str:
    """Why the requester's own words are about someone else's account ("" when they are not)."""
    own = read.request
    for address in EMAIL.findall(own):
        if not requester.is_me(address):
            return f"names {address.lower()}"
    cue = _first(OTHERS_CUES, own)
    if cue:
        return f"“{cue[:80]}”"
    author = read.forwarded_from
    if read.forwards_someone and author and not requester.is_me(author):
        # Someone else's message: theirs to ask, unless the requester's own words make the request their own
        # ("see below from our AP team — could you send me the November bill again?").
        first_name = re.split(r"[._+-]", author.split("@", 1)[0])[0]
        about_them = THIRD_PERSON.search(own) or (
            len(first_name) > 2 and re.search(rf"\b{re.escape(first_name)}\b", own, re.IGNORECASE)
        )
        if read.cover_note_only or about_them:
            return f"forwards a message from {author}"
    return ""


def assess(*, title: str, read: ReadTicket, requester: Requester, flags: list[Flag]) -> Assessment:
    found = classify(title, read.matching_text(), flags=flags, language=read.language)
    others = on_behalf_of_other(read, requester)
    acts_for = requester.email
    if others and requester.authorized_for_others:
        named = {a.lower() for a in EMAIL.findall(read.request) if not requester.is_me(a)}
        acts_for = named.pop() if len(named) == 1 else ""  # "my colleague" without an address: a person decides
    return Assessment(
        requester=requester,
        kind=found.kind,
        why=found.why,
        language=read.language,
        flags=flags,
        on_behalf_of_other=others,
        questions=found.questions,
        how_to=found.how_to,
        acts_for=acts_for,
        compromise=found.compromise,
        read=read,
    )
