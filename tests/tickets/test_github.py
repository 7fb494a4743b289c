"""GitHub Issues against recorded API exchanges and signed webhooks through the django test client."""

import hashlib
import hmac
import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.normalized import NormalizedTicket
from apps.tickets.sources.base import SourceError, UnsupportedOperation
from apps.tickets.sources.github.adapter import GitHubAdapter
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db
SECRET = "gh-webhook-secret"
ISSUE = {
    "number": 21,
    "title": "Login page 500s",
    "body": "Since the deploy the login page answers 500.",
    "state": "open",
    "user": {"login": "kim", "id": 601},
    "labels": [{"name": "bug"}],
    "comments": 0,
    "created_at": "2026-11-16T08:00:00Z",
    "updated_at": "2026-11-16T08:00:00Z",
}
REPOSITORY = {"full_name": "acme/support"}


def config(url: str) -> dict[str, Any]:
    return {"base_url": url, "repository": "acme/support", "token": "github_pat_test", "webhook_secret": SECRET}


def test_a_poll_pages_issues_skips_pull_requests_and_reads_comments(make_source: Any, hartwell: Any) -> None:
    with replaying("github", "pull") as server:
        source = make_source(kind="github", name="GitHub", **config(server.url))
        with tenant_context(hartwell):
            result = polling.poll(source.pk)
        server.check()
    assert (result.status, result.created, result.quarantined, result.skipped) == ("ok", 2, 1, {"pull request": 1})
    with tenant_context(hartwell):
        csv = Ticket.objects.get(source=source, external_id="12")
        assert (csv.status, csv.tags, csv.contact.name) == ("open", ["bug", "export"], "zoe-customer")
        thread = [(m.external_id, m.direction) for m in csv.messages.all()]
        assert thread == [("issue-12", "inbound"), ("70001", "inbound"), ("70002", "outbound")]
        assert Ticket.objects.get(source=source, external_id="15").status == "closed"  # not planned
        assert not Ticket.objects.filter(external_id="13").exists()
        assert "'fourteen' is not a number" in QuarantinedPayload.objects.get(source=source).error
        assert TicketSource.objects.get(pk=source.pk).cursor == {"since": "2026-11-16T11:00:00Z"}

    with replaying("github", "update") as server, tenant_context(hartwell):
        services.update_source_config(client=hartwell, source=source, config=config(server.url))
        again = polling.poll(source.pk)
        server.check()
        assert (again.created, again.updated, again.new_messages) == (0, 1, 1)
        csv.refresh_from_db()
        assert csv.status == "solved" and "fixed-in-2.4" in csv.tags and csv.messages.count() == 4


def test_an_exhausted_rate_limit_is_transient_and_visible(make_source: Any, hartwell: Any) -> None:
    with replaying("github", "limited") as server:
        source = make_source(kind="github", name="GitHub", **config(server.url))
        with tenant_context(hartwell):
            assert polling.poll(source.pk).status == "failed"
            error = TicketSource.objects.get(pk=source.pk).last_error
        server.check()
    assert error.startswith("TransientSourceError: GitHub rate limit reached")


def test_comments_state_labels_and_assignees_are_written_back(make_source: Any, hartwell: Any, people: Any) -> None:
    with replaying("github", "writes") as server:
        source = make_source(kind="github", name="GitHub", **config(server.url))
        with tenant_context(hartwell):
            ticket = services.ingest_ticket(source=source, normalized=NormalizedTicket("12", "CSV accents")).ticket
            bob = people["bob"]
            reply = services.reply(ticket=ticket, body="A fix ships in 2.4 on Friday.", kind="public_reply", author=bob)
            note = services.reply(ticket=ticket, body="Internal: release is risky.", kind="internal_note", author=bob)
            assert delivery.deliver(reply.pk) == "sent"
            assert delivery.deliver(note.pk) == "not-queued"  # GitHub has no private comments: kept in Gaby
            reply.refresh_from_db()
            note.refresh_from_db()
            assert (reply.delivery_state, reply.external_id, note.delivery_state) == (DeliveryState.SENT, "70004", "")
        adapter = GitHubAdapter(source_id=str(source.pk), config=config(server.url))
        adapter.update_status("12", "solved")
        adapter.update_status("12", "open")
        adapter.update_tags("12", ["bug", "export"])
        adapter.assign("12", "sam@hartwell.example")
        with pytest.raises(SourceError, match="No GitHub user shows the email"):
            adapter.assign("12", "ghost@hartwell.example")
        server.check()
    with pytest.raises(UnsupportedOperation, match="no priority"):
        adapter.update_priority("12", "high")
    with pytest.raises(UnsupportedOperation, match="no time tracking"):
        adapter.log_time_entry("12", minutes=5, note="", billable=False)


def deliver(client: Any, source: Any, event: str, payload: Any, *, secret: str = SECRET, raw: bytes = b"") -> Any:
    body = raw or json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/sources/{source.pk}/webhook/github",
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


def test_issue_and_comment_webhooks_create_then_append(as_user: Any, make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="github", name="GitHub", **config("http://127.0.0.1:9"))
    client = as_user(None, "hartwell")
    opened = {"action": "opened", "issue": ISSUE, "repository": REPOSITORY}
    first = deliver(client, source, "issues", opened)
    assert first.status_code == 200 and first.json()["created"] is True
    assert deliver(client, source, "issues", opened).json()["new_messages"] == 0
    comment = {"id": 80001, "body": "Still broken for me", "user": {"login": "kim"}, "author_association": "NONE"}
    commented = {"action": "created", "issue": ISSUE, "comment": comment, "repository": REPOSITORY}
    assert deliver(client, source, "issue_comment", commented).json() == {
        "ticket_id": first.json()["ticket_id"],
        "created": False,
        "new_messages": 1,
    }
    ping = deliver(client, source, "ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert ping.status_code == 202 and "ping" in ping.json()["detail"]
    pr = dict(ISSUE, number=22, pull_request={"url": "x"})
    assert deliver(client, source, "issue_comment", dict(commented, issue=pr)).status_code == 202
    other = deliver(client, source, "issues", dict(opened, repository={"full_name": "acme/other"}))
    assert other.status_code == 202 and "acme/other" in other.json()["detail"]
    with tenant_context(hartwell):
        ticket = Ticket.objects.get(source=source)
        assert (ticket.external_id, ticket.tags, ticket.messages.count()) == ("21", ["bug"], 2)


def test_github_webhook_problems_are_explained(as_user: Any, make_source: Any, hartwell: Any) -> None:
    source = make_source(kind="github", name="GitHub", **config("http://127.0.0.1:9"))
    client = as_user(None, "hartwell")
    opened = {"action": "opened", "issue": ISSUE, "repository": REPOSITORY}
    wrong = deliver(client, source, "issues", opened, secret="nope")
    assert wrong.status_code == 401 and "X-Hub-Signature-256 does not match" in wrong.json()["detail"]
    unsigned = client.post(f"/api/v1/sources/{source.pk}/webhook/github", b"{}", content_type="application/json")
    assert unsigned.status_code == 401 and "Missing X-Hub-Signature-256" in unsigned.json()["detail"]
    no_issue = deliver(client, source, "issues", {"action": "opened"})
    assert no_issue.status_code == 400 and no_issue.json()["field"] == "issue"
    bad_number = deliver(client, source, "issues", dict(opened, issue=dict(ISSUE, number="x")))
    assert bad_number.status_code == 400 and "is not a number" in bad_number.json()["detail"]
    broken = deliver(client, source, "issues", None, raw=b"{not json")
    assert broken.status_code == 400 and broken.json()["field"] == "(body)"
    with tenant_context(hartwell):
        assert QuarantinedPayload.objects.filter(source=source).count() == 3 and not Ticket.objects.exists()
