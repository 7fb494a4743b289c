"""The escalations every playbook has, so that a refusal, a held write or a failure is never mistaken for a fix.

A playbook may redefine any of them under ``escalations:`` with the same name. Templates see ``reason``
(what the safety gate or the tool said), ``step`` (the step concerned), ``missing`` (entity names), plus the
usual ``ticket``, ``entities`` and ``steps``. ``colleague_unknown`` takes the place of a playbook's own
``unknown_requester`` escalation when the run acts for a colleague an authorized contact named (``colleague``):
the account missing is theirs, not the requester's.
"""

from __future__ import annotations

from apps.agent.contracts import Verdict
from apps.agent.playbooks.schema import Escalation, Reply

COLLEAGUE_UNKNOWN = "colleague_unknown"
_FOLLOW_UP = Reply(
    {
        "formal": "Thank you for your message. A member of our support team is reviewing your request and will "
        "get back to you shortly.",
        "friendly": "Thanks for reaching out! Someone from our support team is picking this up and will get back "
        "to you soon.",
        "technical": "Automated handling stopped at step '{{ step }}': {{ reason }}. An engineer will follow up.",
    }
)

BUILTIN: dict[str, Escalation] = {
    "missing_entity": Escalation(
        "missing_entity",
        Verdict.NEEDS_CLIENT,
        "The ticket does not say its {{ missing | join(', ') }}.",
        Reply(
            {
                "formal": "Thank you for your message. To look into this, could you please send us your "
                "{{ missing | join(' and ') | replace('_', ' ') }}?",
                "friendly": "Thanks for getting in touch! Could you send us your "
                "{{ missing | join(' and ') | replace('_', ' ') }} so we can look into this?",
                "technical": "Missing input: {{ missing | join(', ') }}. Reply with it and we will continue.",
            }
        ),
    ),
    "denied": Escalation(
        "denied", Verdict.NEEDS_L2, "{{ step_call }} was refused by the safety policy: {{ reason }}", _FOLLOW_UP
    ),
    "held": Escalation(
        "held",
        Verdict.NEEDS_L2,
        "{{ step_call }} awaits approval: {{ reason }}",
        Reply(
            {
                "formal": "Thank you for your message. The change you requested has been prepared and is awaiting "
                "approval by our team; we will confirm as soon as it is done.",
                "friendly": "Thanks! We've prepared the change you asked for and it's waiting for a quick approval "
                "from our team. We'll let you know as soon as it's done.",
                "technical": "The change ({{ step_call }}) is queued and awaits approval: {{ reason }}",
            }
        ),
    ),
    "dry_run": Escalation(
        "dry_run",
        Verdict.NEEDS_L2,
        "{{ step_call }} ran only as a dry run, nothing changed: {{ reason }}",
        _FOLLOW_UP,
    ),
    "tool_error": Escalation("tool_error", Verdict.NEEDS_L2, "{{ step_call }} failed: {{ reason }}", _FOLLOW_UP),
    "verify_failed": Escalation(
        "verify_failed", Verdict.NEEDS_L2, "Verification at step {{ step }} did not hold: {{ reason }}", _FOLLOW_UP
    ),
    COLLEAGUE_UNKNOWN: Escalation(
        COLLEAGUE_UNKNOWN,
        Verdict.NEEDS_L2,
        "{{ reason }} The address was named by {{ ticket.contact_email }}, an authorized contact, for a colleague: a "
        "new starter's account, licence and access are set up by a person, or the address has a typo.",
        Reply(
            {
                "formal": "Thank you for your message. We could not find an account for {{ colleague }} yet, so a "
                "member of our team will take it from here and get back to you.",
                "friendly": "Thanks! We couldn't find an account for {{ colleague }} yet, so someone from our team "
                "will take it from here and get back to you.",
                "technical": "No account matches {{ colleague }}; a technician will set it up or check the address.",
            }
        ),
    ),
    "approval": Escalation(
        "approval",
        Verdict.NEEDS_L2,
        "{{ step_call }} always needs a human: proposed, it waits in Approvals and has not run.",
        Reply(
            {
                "formal": "Thank you for your message. Your request has been passed to our team for approval; "
                "we will confirm once it has been processed.",
                "friendly": "Thanks! We've passed your request to our team for approval and will let you know once "
                "it's done.",
                "technical": "Proposed {{ step_call }}; it awaits a human approval before anything runs.",
            }
        ),
    ),
}
