"""The words triage reads (apps/agent/triage.py decides with them): questions in other languages, asks, problems,
malfunctions, compromises, outages, complaints, legal matters and requests about somebody else's account.

Each table is a list of case-insensitive patterns; the first that matches is shown as the reason for the kind.
"""

from __future__ import annotations

import re

from apps.agent.playbooks.request_kind import ACTION_VERBS, NOT_AN_ASK


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
# Credentials typed somewhere the requester now doubts, anywhere in the ticket: "it took me to a Microsoft login page
# and I typed my email and password ... now I'm worried it was fake". Either alone is no compromise ("I typed my
# password wrong too many times"; "is this email fake?").
CREDENTIALS_GIVEN = re.compile(
    r"\b(?:typed|entered|put|gave|submitted|filled)\s+(?:in\s+)?(?:my|our)\s+(?:\w+\s+){0,3}?(?:password|"
    r"credentials|login details)\b",
    re.IGNORECASE,
)
DOUBTED = re.compile(
    r"\b(?:fake|phish\w*|scam\w*|spoof\w*|suspicious|not (?:real|legit\w*|genuine)|wasn't (?:real|legit\w*)|"
    r"worried it (?:was|is)|hacked|compromised|gefälscht|falso|faux)\b",
    re.IGNORECASE,
)


def credentials_doubted(text: str) -> str:
    given = CREDENTIALS_GIVEN.search(text)
    return given.group(0) if given and DOUBTED.search(text) else ""


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
SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+")
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
