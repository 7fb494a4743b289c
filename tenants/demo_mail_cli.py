"""``gaby demo-mail send``, ``examples`` and ``list``: write to the demo support mailboxes (your own text or one of
the MSP demo's example tickets, tenants/demo_examples.py) and read what Gaby sent.

Both talk to the demo mail server that ``./gaby run`` starts (``gaby_site.demo_mail_server``) over
SMTP and IMAP, like any mail client would.
"""

from __future__ import annotations

import email.policy
import imaplib
import smtplib
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django_tenants.utils import tenant_context

from apps.tickets.models import Message
from gaby_site.demo_mail import CUSTOMERS, DEMO_DOMAIN, DemoMail, support_address
from tenants.addresses import client_domain
from tenants.demo_examples import EXAMPLES
from tenants.models import Client

DEFAULT_SENDER = "Dana Reyes <dana@customer.demo>"


def register(subparsers: Any, command: BaseCommand) -> None:
    demo = subparsers.add_parser("demo-mail", help="Send to the demo support mailboxes; list what Gaby sent back.")
    actions = demo.add_subparsers(dest="demo_mail_action", metavar="ACTION", required=True)
    send = actions.add_parser("send", help="Email a demo support address as a customer would (SMTP).")
    send.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        help="Send one of the MSP demo's example tickets from its author (gaby demo-mail examples lists them); "
        "--to, --subject, --body and --from then default to the example's.",
    )
    send.add_argument("--to", help="A demo support address, e.g. support@hartwell.demo.")
    send.add_argument("--subject")
    send.add_argument("--body")
    send.add_argument("--from", dest="sender", help=f"Default: {DEFAULT_SENDER}.")
    send.add_argument("--in-reply-to", default="", help="Message-ID this mail answers (a customer's follow-up).")
    send.add_argument("--message-id", default="", help="Reuse a Message-ID (to see a duplicate create nothing).")
    send.add_argument(
        "--wait", type=float, default=30.0, help="Seconds to wait for the ticket to appear (0: do not wait)."
    )
    send.set_defaults(handler=send_mail)
    examples = actions.add_parser("examples", help="List the MSP demo's example tickets: who writes, what happens.")
    examples.set_defaults(handler=list_examples)
    show = actions.add_parser("list", help="Show a demo mailbox with its threading headers (default: customers).")
    show.add_argument("--mailbox", default=CUSTOMERS, help="customers, or a demo support address.")
    show.set_defaults(handler=list_mail)


def _demo() -> DemoMail:
    return DemoMail.from_env(settings.DATA_DIR)


def banner_lines(mail: DemoMail | None, clients: dict[str, Client]) -> list[str]:
    if mail is None:
        return []
    lines = [f"Demo mail (local only; IMAP {mail.host}:{mail.imap_port}, SMTP {mail.host}:{mail.smtp_port}):"]
    lines += [f"  {client.name:<14} {support_address(slug)}" for slug, client in clients.items()]
    first = support_address(next(iter(clients)))
    lines.append(f'  Send one: ./gaby manage gaby demo-mail send --to {first} --subject "VPN down" --body "..."')
    lines.append("  Replies to customers: ./gaby manage gaby demo-mail list")
    return lines


def _client_of(address: str) -> Client | None:
    """The demo client whose support address this is (support@<slug>.demo), if any."""
    local, _, domain = address.lower().partition("@")
    slug = domain.removesuffix(f".{DEMO_DOMAIN}")
    client = Client.objects.filter(slug=slug).first() if local == "support" and slug != domain else None
    return client if client is not None and support_address(client.slug) == address.lower() else None


def _with_example(options: dict[str, Any]) -> dict[str, Any]:
    """The options with the chosen example's fields where none was given; a clear error for what is missing."""
    example = EXAMPLES[options["example"]] if options.get("example") else None
    if example is not None:
        given = {
            "to": support_address(example.client),
            "subject": example.subject,
            "body": example.body,
            "sender": example.sender,
        }
        options = options | {key: options.get(key) or value for key, value in given.items()}
    missing = [f"--{key}" for key in ("to", "subject", "body") if not options.get(key)]
    if missing:
        raise CommandError(f"Give {', '.join(missing)}, or send an example: --example {' | '.join(EXAMPLES)}.")
    return options | {"sender": options.get("sender") or DEFAULT_SENDER}


def list_examples(command: BaseCommand, options: dict[str, Any]) -> None:
    for name, example in EXAMPLES.items():
        command.stdout.write(f"{name:<17} {example.sender} to {support_address(example.client)}")
        command.stdout.write(f'{"":<17} "{example.subject}": {example.expect}')
    command.stdout.write("Send one: ./gaby manage gaby demo-mail send --example NAME")


def send_mail(command: BaseCommand, options: dict[str, Any]) -> None:
    mail = _demo()
    options = _with_example(options)
    to = options["to"].strip()
    client = _client_of(to)
    message = EmailMessage()
    message["From"] = options["sender"]
    message["To"] = to
    message["Subject"] = options["subject"]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = options["message_id"] or make_msgid(domain="customer.demo")
    if options["in_reply_to"]:
        message["In-Reply-To"] = options["in_reply_to"]
        message["References"] = options["in_reply_to"]
    message.set_content(options["body"])
    message_id = str(message["Message-ID"])
    known = _ticket_of(client, message_id) if client is not None else None
    started = time.monotonic()
    try:
        with smtplib.SMTP(mail.host, mail.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
    except OSError as exc:
        raise CommandError(
            f"The demo mail server is not answering on {mail.host}:{mail.smtp_port} ({exc}). "
            "Start Gaby with ./gaby run (and without GABY_DEMO_MAIL=0)."
        ) from exc
    command.stdout.write(f"Sent {message_id} to {to}.")
    if client is None:
        command.stdout.write(f"{to} is not a demo support address: it went to the {CUSTOMERS} mailbox.")
        return
    if known is not None:
        command.stdout.write(
            f"{message_id} is already a ticket ({_ticket_url(client, known)}): this copy adds nothing."
        )
        return
    if options["wait"] <= 0:
        return
    ticket_id = _wait_for_ticket(client, message_id, started + options["wait"])
    if ticket_id is None:
        command.stdout.write(
            f"No ticket yet after {options['wait']:.0f} s: is ./gaby run up? The next poll of "
            f"{client.name}'s email source will pick it up."
        )
        return
    elapsed = time.monotonic() - started
    command.stdout.write(f"Ticket in {client.name} after {elapsed:.2f} s: {_ticket_url(client, ticket_id)}")


def _ticket_url(client: Client, ticket_id: str) -> str:
    path = reverse("tickets:detail", urlconf="gaby_site.urls_tenant", args=[ticket_id])
    port = "" if settings.PUBLIC_PORT in (80, 443) else f":{settings.PUBLIC_PORT}"
    scheme = "https" if settings.HTTPS else "http"
    return f"{scheme}://{client_domain(client.slug)}{port}{path}"


def _ticket_of(client: Client, message_id: str) -> str | None:
    """The ticket that holds the message with this Message-ID in the client, if any."""

    with tenant_context(client):
        found = Message.objects.filter(external_id=message_id).values_list("ticket_id", flat=True).first()
    return str(found) if found is not None else None


def _wait_for_ticket(client: Client, message_id: str, deadline: float) -> str | None:
    while True:
        found = _ticket_of(client, message_id)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _messages(mail: DemoMail, login: str) -> Iterator[EmailMessage]:
    try:
        conn = imaplib.IMAP4(mail.host, mail.imap_port, timeout=10)
    except OSError as exc:
        raise CommandError(f"The demo mail server is not answering on {mail.host}:{mail.imap_port} ({exc}).") from exc
    try:
        conn.login(login, mail.password(login))
        conn.select("INBOX", readonly=True)
        _typ, data = conn.uid("SEARCH", "ALL")
        for uid in (data[0] or b"").decode().split():
            _typ, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next(item[1] for item in fetched if isinstance(item, tuple))
            parsed = message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            yield parsed
    except imaplib.IMAP4.error as exc:
        raise CommandError(f"The demo mailbox {login!r} cannot be read: {exc}") from exc
    finally:
        conn.logout()


def list_mail(command: BaseCommand, options: dict[str, Any]) -> None:
    mail = _demo()
    login = options["mailbox"].strip().lower()
    if login not in mail.accounts():
        raise CommandError(f"No demo mailbox {login!r}: use one of {', '.join(sorted(mail.accounts()))}.")
    count = 0
    for message in _messages(mail, login):
        count += 1
        command.stdout.write(f"--- {count}")
        for header in ("Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References"):
            if message[header]:
                command.stdout.write(f"{header + ':':<13}{message[header]}")
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content().strip() if body is not None else ""
        command.stdout.write("\n".join(f"  | {line}" for line in text.splitlines()[:8]))
    command.stdout.write(f"{count} message(s) in {login}.")
