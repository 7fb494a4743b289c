"""Linear issues as tickets, over its GraphQL API: issues updated after a moment, page by page, with comments.

Pull: ``issues(filter: {updatedAt: {gt: since}, team: {key: {eq: …}}}, first, after)`` following
``pageInfo.endCursor``; each issue brings its state (by type), priority (1 urgent … 4 low, 0 none),
labels (the tags), assignee, creator (the contact) and comments. A comment by the issue's creator is
inbound, anyone else's outbound. Writes are ``commentCreate`` and ``issueUpdate`` (state, priority,
labels, assignee), each resolved against the workspace (the team's states, labels by name, users by
email). Linear comments are visible to the whole workspace, so internal notes stay in Gaby.

Webhooks: ``Linear-Signature`` is the hex HMAC-SHA256 of the body; ``webhookTimestamp`` (ms) must be
within a minute, as Linear recommends, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

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
    later,
    load_json,
    parse_time,
    rejected,
)

SIGNATURE_HEADER = "Linear-Signature"
MAX_SKEW_MS = 60_000
PAGE = 50
STATE_IN = {
    "triage": "new",
    "backlog": "open",
    "unstarted": "open",
    "started": "open",
    "completed": "solved",
    "canceled": "closed",
}
# Which state types may stand for a Gaby status, best first.
STATE_OUT = {
    "new": ("triage", "backlog", "unstarted"),
    "open": ("started", "unstarted"),
    "pending": ("started",),
    "on_hold": ("backlog", "unstarted"),
    "solved": ("completed",),
    "closed": ("canceled",),
}
PRIORITY_IN = {1: "urgent", 2: "high", 3: "normal", 4: "low"}
PRIORITY_OUT = {name: number for number, name in PRIORITY_IN.items()}

ISSUE_FIELDS = """
  id identifier title description priority url createdAt updatedAt
  state { id name type }
  labels { nodes { id name } }
  assignee { id name email }
  creator { id name email }
  team { id key }
  comments(first: 100) { nodes { id body createdAt user { id name email } } }
"""
ISSUES = (
    "query GabyIssues($filter: IssueFilter, $first: Int!, $after: String) {\n"
    "  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {\n"
    f"    nodes {{ {ISSUE_FIELDS} }}\n"
    "    pageInfo { hasNextPage endCursor }\n  }\n}"
)
TEAM_STATES = (
    "query GabyStates($id: String!) { issue(id: $id) { team { states { nodes { id name type position } } } } }"
)
LABELS = "query GabyLabels($names: [String!]) { issueLabels(filter: {name: {in: $names}}) { nodes { id name } } }"
USERS = "query GabyUsers($email: String!) { users(filter: {email: {eq: $email}}) { nodes { id name } } }"
UPDATE = (
    "mutation GabyIssueUpdate($id: String!, $input: IssueUpdateInput!) "
    "{ issueUpdate(id: $id, input: $input) { success } }"
)
COMMENT = (
    "mutation GabyComment($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id } } }"
)


class LinearAdapter(HttpAdapter):
    kind: ClassVar[str] = "linear"
    label: ClassVar[str] = "Linear"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply"})
    writable_fields: ClassVar[frozenset[str]] = frozenset({"status", "priority", "tags", "assignee"})

    def build_http(self) -> SourceHttp:
        key = self.setting("api_key")
        return SourceHttp(self.setting("base_url"), headers={"Authorization": key})

    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The issue's ``url`` (``https://linear.app/<workspace>/issue/<KEY-123>``), asked of Linear: the ticket
        stores the issue's id, and the workspace's key and the identifier are Linear's to say."""
        data = self.gql("query IssueUrl($id: String!) { issue(id: $id) { url } }", {"id": ticket_external_id})
        url = str((data.get("issue") or {}).get("url") or "")
        return url if url.startswith("https://") else None

    def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = self.http.json("POST", "/graphql", json={"query": query, "variables": variables})
        except HttpStatusError as exc:
            if "RATELIMITED" in str(exc):
                raise TransientSourceError(f"Linear rate limit reached; the poll will retry. {exc}") from exc
            raise
        if not isinstance(answer, dict):
            raise SourceError(f"Linear answered with {type(answer).__name__}, not a GraphQL response.")
        errors = answer.get("errors") or []
        if errors:
            codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
            message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            if "RATELIMITED" in codes:
                raise TransientSourceError(f"Linear rate limit reached; the poll will retry. {message}")
            raise SourceError(f"Linear refused the query: {message}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise SourceError("Linear answered without 'data'.")
        return data

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        since = str(cursor.get("since") or "")
        if not since:
            since = iso_z(timezone.now() - timedelta(days=int(self.config.get("backfill_days") or 30)))
        issue_filter: dict[str, Any] = {"updatedAt": {"gt": since}}
        team = str(self.config.get("team_key") or "")
        if team:
            issue_filter["team"] = {"key": {"eq": team}}
        variables = {"filter": issue_filter, "first": int(self.config.get("page_size") or PAGE)}
        if cursor.get("after"):
            variables["after"] = cursor["after"]
        connection = self.gql(ISSUES, variables).get("issues")
        if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
            raise SourceError("Linear answered 'issues' without a 'nodes' list.")
        tickets: list[NormalizedTicket] = []
        rejects: list[Rejected] = []
        high = str(cursor.get("high") or "")
        for node in connection["nodes"]:
            try:
                tickets.append(_ticket(node))
                high = later(high, parse_time(node.get("updatedAt")))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                rejects.append(rejected(node, f"Linear issue could not be read: {exc.__class__.__name__}: {exc}"))
        info = connection.get("pageInfo") or {}
        if info.get("hasNextPage") and info.get("endCursor"):
            return Page(
                tickets, {"since": since, "after": info["endCursor"], "high": high}, has_more=True, rejected=rejects
            )
        return Page(tickets, {"since": high or since}, rejected=rejects)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        secret = check_secret(str(self.config.get("webhook_secret", "")), self.label)
        given = headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise SignatureError(f"Missing {SIGNATURE_HEADER}: is this a Linear webhook with a signing secret?")
        if not constant_equal(given.lower(), hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match the body signed with this source's secret.")
        data = load_json(body)
        stamp = data.get("webhookTimestamp") if isinstance(data, dict) else None
        if not isinstance(stamp, int) or abs(time.time() * 1000 - stamp) > MAX_SKEW_MS:
            raise SignatureError("webhookTimestamp is missing or more than a minute off: a stale or replayed delivery.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        data = load_json(body)
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            raise PayloadError("A Linear webhook without a 'data' object.", field="data")
        kind, action, item = data.get("type"), data.get("action"), data["data"]
        if action == "remove":
            raise IgnoredDelivery(f"a removed {kind}: Gaby keeps its copy.")
        team = str(self.config.get("team_key") or "")
        if kind == "Issue":
            item_team = (item.get("team") or {}).get("key")
            if team and item_team and item_team != team:
                raise IgnoredDelivery(f"an issue of team {item_team}, not {team}.")
            labels = item.get("labels")
            node = {**item, "labels": {"nodes": labels if isinstance(labels, list) else []}, "comments": {"nodes": []}}
            try:
                return _ticket(node)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise PayloadError(f"The issue could not be read: {exc}", field="data") from exc
        if kind == "Comment":
            issue = item.get("issue") or {}
            issue_id = item.get("issueId") or issue.get("id")
            if not issue_id or "id" not in item:
                raise PayloadError("A Comment event needs data.id and data.issueId.", field="data.issueId")
            return NormalizedTicket(
                external_id=str(issue_id),
                title=str(issue.get("title") or ""),
                messages=(_comment(item, creator_id=""),),
            )
        raise IgnoredDelivery(f"a {kind or 'typeless'} event; subscribe this webhook to Issues and Comments.")

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        if message.kind != "public_reply":
            raise UnsupportedOperation("Linear comments are seen by the whole workspace: internal notes stay in Gaby.")
        data = self.gql(COMMENT, {"input": {"issueId": message.ticket_external_id, "body": message.body}})
        created = data.get("commentCreate") or {}
        comment_id = (created.get("comment") or {}).get("id")
        if not created.get("success") or not comment_id:
            raise SourceError("Linear did not create the comment.")
        return Delivered(external_id=str(comment_id))

    def _update(self, issue_id: str, fields: dict[str, Any]) -> None:
        data = self.gql(UPDATE, {"id": issue_id, "input": fields})
        if not (data.get("issueUpdate") or {}).get("success"):
            raise SourceError(f"Linear did not update the issue ({', '.join(fields)}).")

    def update_status(self, ticket_external_id: str, status: str) -> None:
        issue = self.gql(TEAM_STATES, {"id": ticket_external_id}).get("issue") or {}
        states = (((issue.get("team") or {}).get("states") or {}).get("nodes")) or []
        for wanted in STATE_OUT[status]:
            matching = sorted((s for s in states if s.get("type") == wanted), key=lambda s: s.get("position", 0))
            if matching:
                self._update(ticket_external_id, {"stateId": matching[0]["id"]})
                return
        raise SourceError(f"The issue's team has no workflow state of type {' or '.join(STATE_OUT[status])}.")

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        self._update(ticket_external_id, {"priority": PRIORITY_OUT[priority]})

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        if not tags:
            self._update(ticket_external_id, {"labelIds": []})
            return
        nodes = (self.gql(LABELS, {"names": list(tags)}).get("issueLabels") or {}).get("nodes") or []
        by_name: dict[str, str] = {}
        for node in nodes:
            by_name.setdefault(str(node.get("name")), str(node.get("id")))
        missing = [t for t in tags if t not in by_name]
        if missing:
            raise SourceError(f"Linear has no label named {', '.join(missing)}; create it in Linear first.")
        self._update(ticket_external_id, {"labelIds": [by_name[t] for t in tags]})

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        if not assignee_email:
            self._update(ticket_external_id, {"assigneeId": None})
            return
        users = (self.gql(USERS, {"email": assignee_email}).get("users") or {}).get("nodes") or []
        if not users:
            raise SourceError(f"No Linear user has the email {assignee_email}.")
        self._update(ticket_external_id, {"assigneeId": users[0]["id"]})

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        raise UnsupportedOperation("Linear tracks estimates, not time: it has no time entries to log.")


def _ticket(node: Any) -> NormalizedTicket:
    issue_id, title = node["id"], node["title"]
    if not isinstance(issue_id, str) or not isinstance(title, str):
        raise ValueError("id and title must be text")
    priority = node.get("priority", 0)
    if not isinstance(priority, int) or not 0 <= priority <= 4:
        raise ValueError(f"priority {priority!r} is not 0-4")
    state_type = (node.get("state") or {}).get("type")
    if state_type is not None and state_type not in STATE_IN:
        raise ValueError(f"unknown state type {state_type!r}")
    creator = node.get("creator") or {}
    labels = [str(label["name"]) for label in ((node.get("labels") or {}).get("nodes") or [])]
    description = str(node.get("description") or "")
    opening = NormalizedMessage(
        external_id=f"issue-{issue_id}",
        body=description,
        author_label=str(creator.get("name") or ""),
        created_at=parse_time(node.get("createdAt")),
    )
    comments = [
        _comment(c, creator_id=str(creator.get("id") or "")) for c in (node.get("comments") or {}).get("nodes") or []
    ]
    contact = None
    if creator:
        contact = NormalizedContact(
            email=str(creator.get("email") or ""),
            name=str(creator.get("name") or ""),
            external_id=f"linear:{creator.get('id')}",
        )
    return NormalizedTicket(
        external_id=issue_id,
        title=title[:500],
        body=description,
        contact=contact,
        status=STATE_IN[state_type] if state_type else None,
        priority=PRIORITY_IN.get(priority),
        tags=tuple(labels),
        messages=(opening, *comments) if description else tuple(comments),
    )


def _comment(item: Any, *, creator_id: str) -> NormalizedMessage:
    if not isinstance(item, dict) or "id" not in item:
        raise ValueError(f"a comment without an id: {str(item)[:100]}")
    user = item.get("user") or {}
    by_creator = bool(creator_id) and str(user.get("id") or item.get("userId") or "") == creator_id
    return NormalizedMessage(
        external_id=str(item["id"]),
        body=str(item.get("body") or ""),
        author_label=str(user.get("name") or ""),
        direction="inbound" if by_creator else "outbound",
        created_at=parse_time(item.get("createdAt")),
    )
