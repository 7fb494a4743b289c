"""The MSP demo's example tickets: what the demo clients' staff write to their support mailbox.

``gaby demo-mail send --example outlook`` sends one as its author would (SMTP to the demo mail server); each author
is a person of the client's Entra ID tenant (and, for the computer problems, the one NinjaOne saw signed in),
so the playbooks find them exactly as they would find a real employee (``sandbox/msp_demo.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    client: str  # the demo client's slug
    name: str
    email: str
    subject: str
    body: str
    expect: str  # what the demo shows, for the banner and the docs

    @property
    def sender(self) -> str:
        return f"{self.name} <{self.email}>"


EXAMPLES = {
    "outlook": Example(
        "hartwell",
        "Margaret Hartwell",
        "margaret.hartwell@hartwelllaw.com",
        "Outlook keeps asking for my password",
        "Hi,\n\nSince this morning Outlook keeps asking me for my password every few minutes, and it is the right "
        "one. Teams did the same once.\n\nMargaret",
        "Entra ID: account enabled, no risk; old sessions ended; reply sent",
    ),
    "printer": Example(
        "hartwell",
        "Maria Lopez",
        "maria.lopez@hartwelllaw.com",
        "Can't print anything",
        "Hello, nothing comes out of the printer at the front desk since this morning. The documents just sit in "
        "the print queue.\n\nMaria",
        "NinjaOne: her PC's Print Spooler had stopped; restarted and checked",
    ),
    "office": Example(
        "hartwell",
        "Sam Ortiz",
        "sam.ortiz@hartwelllaw.com",
        "Word says unlicensed product",
        "Word shows a red bar saying unlicensed product when I open it, and I can only read my documents.\n\nSam",
        "Entra ID: no licence with the Office apps; to a person with the free seats",
    ),
    "outlook-dearborn": Example(
        "dearborn",
        "Priya Nair",
        "priya.nair@dearborncpa.com",
        "Outlook keeps asking for my password",
        "Outlook keeps asking for my password again and again although I type the right one. Can you help?\n\nPriya",
        "Dearborn reviews every change: ending the sessions waits for an approval",
    ),
    "password-dearborn": Example(
        "dearborn",
        "Priya Nair",
        "priya.nair@dearborncpa.com",
        "Forgot my password",
        "Hi, after the long weekend I can't remember my password and can't log in to my email. Sorry!\n\nPriya",
        "Entra ID says she can reset it herself: a reply with Microsoft's reset page (a draft: Dearborn reviews)",
    ),
}
