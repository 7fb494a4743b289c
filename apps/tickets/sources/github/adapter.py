"""GitHub Issues of one repository as tickets: issues ``since=`` with Link pagination, comments as the thread.

Pull: ``GET /repos/{repo}/issues?state=all&since=…&sort=updated&direction=asc`` (the next page is in
the ``Link`` header); pull requests come through that endpoint too and are skipped. Labels are the
ticket's tags; closed as completed is solved, closed as not planned is closed. A comment by the
repository's owner, members or collaborators is outbound; anyone else's is the customer's.

Webhooks: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; ``issues`` and
``issue_comment`` events carry the issue, so nothing is fetched. GitHub has no private comments,
so internal notes stay in Gaby (``sink_kinds``), and no priority or time tracking.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from django.utils import timezone

from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
from apps.tickets.sources.base import (
    Delivered,
    OutboundMessage,
    Page,
    PayloadError,
    Rejected,
    SignatureError,
    SourceError,
    TransientSourceError,
    UnsupportedOperation,
)
from apps.tickets.sources.http import HttpStatusError, SourceHttp
from apps.tickets.sources.vendor import (
    HttpAdapter,
    IgnoredDelivery,
    check_secret,
    constant_equal,
    iso_z,
    json_and_next,
    later,
    load_json,
    parse_time,
    rejected,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
TEAM = {"OWNER", "MEMBER", "COLLABORATOR"}
PER_PAGE = 100


class GitHubAdapter(HttpAdapter):
    kind: ClassVar[str] = "github"
    label: ClassVar[str] = "GitHub Issues"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply"})
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "tags", "assignee"})  # no priority

    def build_http(self) -> SourceHttp:
        headers = {
            "Authorization": f"Bearer {self.setting('token')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        return SourceHttp(self.setting("base_url"), headers=headers)

    @property
    def repo(self) -> str:
        return self.setting("repository")

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The issue's ``html_url``: ``https://github.com/<owner>/<repo>/issues/<n>``, or the same path on a GitHub
        Enterprise Server, whose API lives under ``https://<host>/api/v3``."""
        api = self.setting("base_url").rstrip("/")
        web = "https://github.com" if urlsplit(api).hostname == "api.github.com" else api.removesuffix("/api/v3")
        return f"{web}/{self.repo}/issues/{quote(ticket_external_id)}"

    def _get_page(self, url: str, **kwargs: Any) -> tuple[Any, str | None]:
        try:
            return json_and_next(self.http, url, **kwargs)
        except HttpStatusError as exc:
            raise _rate_limited(exc) from exc

    def _send(self, method: str, url: str, payload: dict[str, Any]) -> Any:
        try:
            return self.http.json(method, url, json=payload)
        except HttpStatusError as exc:
            raise _rate_limited(exc) from exc

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        if cursor.get("next"):
            items, next_url = self._get_page(str(cursor["next"]))
        else:
            params = {"state": "all", "since": since, "sort": "updated", "direction": "asc", "per_page": PER_PAGE}
            items, next_url = self._get_page(f"/repos/{self.repo}/issues", params=params)
        if not isinstance(items, list):
            raise SourceError(f"GitHub answered the issue list with {type(items).__name__}, not a list.")
        tickets: list[NormalizedTicket] = []
        rejects: list[Rejected] = []
        skipped: dict[str, int] = {}
        high = str(cursor.get("high") or "")
        for item in items:
            try:
                if "pull_request" in item:
                    skipped["pull request"] = skipped.get("pull request", 0) + 1
                else:
                    comments = self._comments(item["number"]) if item.get("comments") else []
                    tickets.append(_ticket(item, comments))
                high = later(high, parse_time(item.get("updated_at")))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                rejects.append(rejected(item, f"GitHub issue could not be read: {exc.__class__.__name__}: {exc}"))
        if next_url:
            next_cursor = {"since": since, "next": next_url, "high": high}
            return Page(tickets, next_cursor, has_more=True, skipped=skipped, rejected=rejects)
        return Page(tickets, {"since": high or since}, skipped=skipped, rejected=rejects)

    def _comments(self, number: Any) -> list[Any]:
        if not isinstance(number, int):
            raise ValueError(f"issue number {number!r} is not a number")
        found: list[Any] = []
        url: str | None = f"/repos/{self.repo}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url:
            items, url = self._get_page(url, params=params)
            if not isinstance(items, list):
                raise ValueError(f"the comments of issue {number} are not a list")
            found.extend(items)
            params = None
        return found

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"Missing {SIGNATURE_HEADER}: set the webhook's secret in the repository settings.")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not constant_equal(given.lower(), expected):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body signed with this source's secret.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        event = headers.get(EVENT_HEADER, "")
        data = load_json(body)
        if event == "ping":
            raise IgnoredDelivery("GitHub's ping: the webhook reaches Gaby.")
        if event not in {"issues", "issue_comment"}:
            raise IgnoredDelivery(
                f"{event or 'an unnamed'} event; subscribe this webhook to Issues and Issue comments."
            )
        if not isinstance(data, dict) or not isinstance(data.get("issue"), dict):
            raise PayloadError(f"An {event} event without an 'issue' object.", field="issue")
        repository = (data.get("repository") or {}).get("full_name", "")
        if repository and repository.lower() != self.repo.lower():
            raise IgnoredDelivery(f"an issue of {repository}, not of {self.repo}.")
        issue = data["issue"]
        if "pull_request" in issue:
            raise IgnoredDelivery("a pull request, not an issue.")
        comments: list[Any] = []
        if event == "issue_comment":
            if data.get("action") == "deleted":
                raise IgnoredDelivery("a deleted comment: Gaby keeps its copy.")
            if not isinstance(data.get("comment"), dict):
                raise PayloadError("An issue_comment event without a 'comment' object.", field="comment")
            comments = [data["comment"]]
        try:
            return _ticket(issue, comments)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PayloadError(f"The issue could not be read: {exc.__class__.__name__}: {exc}", field="issue") from exc

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        if message.kind != "public_reply":
            raise UnsupportedOperation("GitHub has no private comments: internal notes stay in Gaby.")
        url = f"/repos/{self.repo}/issues/{message.ticket_external_id}/comments"
        answer = self._send("POST", url, {"body": message.body})
        if not isinstance(answer, dict) or "id" not in answer:
            raise SourceError("GitHub accepted the comment but did not say its id.")
        return Delivered(external_id=str(answer["id"]))

    def update_status(self, ticket_external_id: str, status: str) -> None:
        if status in {"solved", "closed"}:
            reason = "completed" if status == "solved" else "not_planned"
            fields = {"state": "closed", "state_reason": reason}
        else:
            fields = {"state": "open"}
        self._send("PATCH", f"/repos/{self.repo}/issues/{ticket_external_id}", fields)

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        raise UnsupportedOperation("GitHub issues have no priority; use a label such as priority:high instead.")

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        self._send("PUT", f"/repos/{self.repo}/issues/{ticket_external_id}/labels", {"labels": list(tags)})

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._send("PATCH", f"/repos/{self.repo}/issues/{ticket_external_id}", {"assignees": []})
            return
        try:
            found = self.http.json("GET", "/search/users", params={"q": f"{assignee_email} in:email"})
        except HttpStatusError as exc:
            raise _rate_limited(exc) from exc
        users = found.get("items") if isinstance(found, dict) else None
        if not users:
            raise SourceError(
                f"No GitHub user shows the email {assignee_email} publicly; assign the issue on GitHub instead."
            )
        self._send("PATCH", f"/repos/{self.repo}/issues/{ticket_external_id}", {"assignees": [users[0]["login"]]})

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        raise UnsupportedOperation("GitHub Issues has no time tracking to log time entries against.")


def _rate_limited(exc: HttpStatusError) -> SourceError:
    """GitHub answers an exhausted rate limit with 403 (not 429): retry later rather than fail for good."""
    if exc.status == 403 and "rate limit" in str(exc).lower():
        return TransientSourceError(f"GitHub rate limit reached; the poll will retry. {exc}")
    return exc


def _ticket(item: Any, comments: list[Any]) -> NormalizedTicket:
    number = item["number"]
    if not isinstance(number, int):
        raise ValueError(f"issue number {number!r} is not a number")
    title = item["title"]
    if not isinstance(title, str):
        raise ValueError("title is not text")
    labels = item.get("labels") or []
    if not isinstance(labels, list):
        raise ValueError("labels is not a list")
    names = [label["name"] if isinstance(label, dict) else str(label) for label in labels]
    user = item.get("user") or {}
    state = item.get("state")
    if state not in {"open", "closed"}:
        raise ValueError(f"unknown state {state!r}")
    status = "open" if state == "open" else ("closed" if item.get("state_reason") == "not_planned" else "solved")
    opening = NormalizedMessage(
        external_id=f"issue-{number}",
        body=str(item.get("body") or ""),
        author_label=str(user.get("login") or ""),
        created_at=parse_time(item.get("created_at")),
    )
    return NormalizedTicket(
        external_id=str(number),
        title=title[:500],
        body=str(item.get("body") or ""),
        contact=NormalizedContact(name=str(user.get("login") or ""), external_id=f"github:{user.get('id', '')}"),
        status=status,
        tags=tuple(names),
        messages=(opening, *(_message(c) for c in comments)),
    )


def _message(comment: Any) -> NormalizedMessage:
    if not isinstance(comment, dict) or "id" not in comment:
        raise ValueError(f"a comment without an id: {str(comment)[:100]}")
    return NormalizedMessage(
        external_id=str(comment["id"]),
        body=str(comment.get("body") or ""),
        author_label=str((comment.get("user") or {}).get("login") or ""),
        direction="outbound" if comment.get("author_association") in TEAM else "inbound",
        created_at=parse_time(comment.get("created_at")),
    )
