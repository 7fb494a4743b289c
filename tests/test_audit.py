"""SAF-5: the append-only, hash-chained audit log, per client."""

import json
import re
import threading
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.auditlog import audit
from apps.auditlog.models import AuditEvent


def _tamper(sql: str, params: list[Any]) -> None:
    """What an attacker with database access would have to do: switch the guard off first."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE auditlog_auditevent DISABLE TRIGGER audit_no_update_delete")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE auditlog_auditevent ENABLE TRIGGER audit_no_update_delete")


def test_events_chain_in_order_and_verify(hartwell: Any) -> None:
    with tenant_context(hartwell):
        start = AuditEvent.objects.count()
        first = audit.record(event="test.one", payload={"n": 1})
        second = audit.record(
            event="test.two", actor_kind="user", actor_id="abc", payload={"nested": {"b": 2, "a": [1]}}
        )
        assert second.sequence == first.sequence + 1 and second.prev_hash == first.hash
        report = audit.verify()
        assert report.ok and report.checked == start + 2


def test_an_event_takes_one_round_trip_and_postgresql_hashes_it_as_verify_does(hartwell: Any) -> None:
    with tenant_context(hartwell), transaction.atomic():
        AuditEvent.objects.exists()  # the schema's search_path is set before counting
        payload = {"quote": 'say "hi"', "unicode": "café ✓", "nested": {"z": [1, 2.5, None], "a": True}}
        with CaptureQueriesContext(connection) as sent:
            event = audit.record(event="test.one-trip", actor_kind="user", actor_id="u-1", payload=payload)
        assert len(sent.captured_queries) == 1
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.sequence, stored.prev_hash, stored.hash) == (event.sequence, event.prev_hash, event.hash)
        assert stored.hash == audit.compute_hash(
            sequence=stored.sequence,
            occurred_at=stored.occurred_at,
            actor_kind="user",
            actor_id="u-1",
            event="test.one-trip",
            payload=payload,
            prev_hash=stored.prev_hash,
        )


def test_an_event_is_announced_as_save_would_announce_it(hartwell: Any) -> None:
    """The one write not sent by save() still sends its signals, with what save() would pass and the stored link."""
    heard: list[tuple[Any, ...]] = []

    def before(sender: Any, instance: AuditEvent, raw: bool, update_fields: Any, **_: Any) -> None:
        heard.append(("pre_save", raw, update_fields, instance._state.adding, instance.sequence))

    def after(sender: Any, instance: AuditEvent, created: bool, raw: bool, update_fields: Any, **_: Any) -> None:
        state = instance._state
        heard.append(("post_save", created, raw, update_fields, state.adding, state.db, instance.sequence))

    pre_save.connect(before, sender=AuditEvent, weak=False, dispatch_uid="tests.audit.pre_save")
    post_save.connect(after, sender=AuditEvent, weak=False, dispatch_uid="tests.audit.post_save")
    try:
        with tenant_context(hartwell):
            event = audit.record(event="test.heard", payload={"n": 1})
    finally:
        pre_save.disconnect(sender=AuditEvent, dispatch_uid="tests.audit.pre_save")
        post_save.disconnect(sender=AuditEvent, dispatch_uid="tests.audit.post_save")
    assert heard == [
        ("pre_save", False, None, True, None),
        ("post_save", True, False, None, False, "default", event.sequence),
    ]
    assert event.sequence is not None and len(event.hash) == 64


def test_concurrent_appenders_chain_one_after_another(dearborn: Any) -> None:
    """Writers on their own connections, each holding its transaction open a moment after appending: a writer
    that waited for the lock must chain onto the event committed while it waited, never onto the one before."""
    writers, per_writer = 4, 6
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def append(writer: int) -> None:
        try:
            with schema_context(dearborn.schema_name):
                start.wait()
                for i in range(per_writer):
                    with transaction.atomic():
                        audit.record(event="test.concurrent", payload={"writer": writer, "i": i})
                        time.sleep(0.005)  # the others queue on the lock meanwhile
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    with tenant_context(dearborn):
        written = AuditEvent.objects.filter(event="test.concurrent").values_list("sequence", flat=True)
        assert len(set(written)) == len(written) >= writers * per_writer
        assert audit.verify().ok


def test_the_database_refuses_update_delete_and_truncate(hartwell: Any) -> None:
    with tenant_context(hartwell):
        event = audit.record(event="test.guarded")
        for statement in (
            "UPDATE auditlog_auditevent SET event = 'forged' WHERE id = %s",
            "DELETE FROM auditlog_auditevent WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE auditlog_auditevent")
        assert AuditEvent.objects.filter(pk=event.pk, event="test.guarded").exists()


def test_an_edited_row_is_named_by_gaby_audit_verify(hartwell: Any) -> None:
    with tenant_context(hartwell):
        events = [audit.record(event="test.step", payload={"i": i}) for i in range(5)]
        target = events[2]
        _tamper("UPDATE auditlog_auditevent SET payload = '{\"i\": 99}' WHERE id = %s", [target.pk])
    with pytest.raises(
        CommandError, match=rf"BROKEN at event #{target.sequence}: event #{target.sequence} was altered"
    ):
        call_command("gaby", "audit", "verify", "--client", "hartwell")


def test_a_deleted_row_is_detected(hartwell: Any) -> None:
    with tenant_context(hartwell):
        events = [audit.record(event="test.step", payload={"i": i}) for i in range(3)]
        _tamper("DELETE FROM auditlog_auditevent WHERE id = %s", [events[1].pk])
        report = audit.verify()
    assert report.broken_at == events[1].sequence and "missing" in report.reason


def test_verify_command_passes_on_an_intact_chain_and_other_clients_are_separate(hartwell: Any, dearborn: Any) -> None:
    with tenant_context(hartwell):
        audit.record(event="test.hartwell-only")
    with tenant_context(dearborn):
        assert not AuditEvent.objects.filter(event="test.hartwell-only").exists()
    out = StringIO()
    call_command("gaby", "audit", "verify", "--client", "hartwell", stdout=out)
    assert "verified" in out.getvalue()
    with pytest.raises(CommandError, match="No client with slug 'nope'"):
        call_command("gaby", "audit", "verify", "--client", "nope")


def test_export_is_jsonl_with_hashes(hartwell: Any, tmp_path: Any) -> None:
    with tenant_context(hartwell):
        audit.record(event="test.export", payload={"x": "y"})
    target = tmp_path / "audit.jsonl"
    call_command("gaby", "audit", "export", "--client", "hartwell", "--output", str(target), stdout=StringIO())
    import json

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines[-1]["event"] == "test.export" and lines[-1]["payload"] == {"x": "y"} and len(lines[-1]["hash"]) == 64
    assert [line["sequence"] for line in lines] == list(range(1, len(lines) + 1))


def test_untrusted_text_with_nul_characters_is_still_recorded(hartwell: Any) -> None:
    with tenant_context(hartwell):
        event = audit.record(event="test.nul", payload={"body\x00": "before\x00after"})
        event.refresh_from_db()
        assert event.payload == {"body\ufffd": "before\ufffdafter"}
        assert audit.verify().ok


def test_membership_changes_settings_and_logins_are_audited(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    alice.post("/settings/members/", {"email": "dora@hartwell.example", "role": "viewer"})
    alice.post("/settings/client/", {"name": "Hartwell Law LLP", "time_zone": "Europe/London"})
    alice.post(
        "/safety/settings/",
        {"autonomy": "review", "approval_threshold": 50, "approval_ttl_hours": 24, "compliance_profile": "soc2"},
    )
    with tenant_context(hartwell):
        granted = AuditEvent.objects.get(event="membership.granted")
        assert granted.payload["member"] == "dora@hartwell.example" and granted.actor_kind == "user"
        renamed, autonomy = AuditEvent.objects.filter(event="client.settings_changed").order_by("sequence")
        assert renamed.payload["changes"]["name"] == {"from": "Hartwell Law", "to": "Hartwell Law LLP"}
        assert autonomy.payload["changes"]["autonomy"] == {"from": "investigate", "to": "review"}
        assert audit.verify().ok


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payloads=st.lists(st.dictionaries(st.text(min_size=1, max_size=8), _json, max_size=4), min_size=2, max_size=6),
    data=st.data(),
)
def test_any_single_edit_is_detected(hartwell: Any, payloads: list[dict[str, Any]], data: st.DataObject) -> None:
    with tenant_context(hartwell), transaction.atomic():
        events = [audit.record(event="prop.event", payload=payload) for payload in payloads]
        assert audit.verify().ok
        victim = data.draw(st.sampled_from(events))
        field = data.draw(st.sampled_from(["event", "actor_id", "payload", "prev_hash"]))
        value = {"event": "prop.forged", "actor_id": "mallory", "payload": '{"forged": true}', "prev_hash": "f" * 64}[
            field
        ]
        _tamper(f"UPDATE auditlog_auditevent SET {field} = %s WHERE id = %s", [value, victim.pk])
        report = audit.verify()
        assert report.broken_at == victim.sequence
        transaction.set_rollback(True)


def test_audit_page_is_for_admins_and_filters(as_user: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        audit.record(event="membership.granted", payload={"member": "x@y.z"})
        audit.record(event="auth.login", actor_kind="user", actor_id="u1")
    alice = as_user("alice", "hartwell")
    page = alice.get("/audit/?event=membership.")
    assert page.status_code == 200
    body = page.content.decode()
    assert "membership.granted" in body and "auth.login</code>" not in body
    assert b"chain-ok" in alice.get("/audit/verify/").content
    export = alice.get("/audit/export.jsonl")
    assert export["Content-Type"] == "application/x-ndjson"
    assert b'"event":"auth.login"' in b"".join(export.streaming_content)
    assert as_user("bob", "hartwell").get("/audit/").status_code == 403  # Agents do not read the audit log
    assert as_user("carol", "hartwell").get("/audit/export.jsonl").status_code == 403


def test_the_audit_page_names_people_and_reads_details_in_words(
    as_user: Any, hartwell: Any, people: dict[str, Any]
) -> None:
    alice = people["alice"]
    with tenant_context(hartwell):
        audit.record(
            event="client.settings_changed",
            actor_kind="user",
            actor_id=str(alice.pk),
            payload={"changes": {"autonomy": {"from": "investigate", "to": "review"}}},
        )
    body = as_user("alice", "hartwell").get("/audit/").content.decode()
    (row,) = [r for r in re.findall(r'<tr data-testid="audit-row-.*?</tr>', body, re.S) if "settings changed" in r]
    assert "Client: settings changed" in row and f">{alice.display_name}</span>" in row
    assert "<dt>changes: autonomy</dt><dd>investigate → review</dd>" in row
    assert re.sub(r'title="[^"]*"', "", row).count(str(alice.pk)) == 0  # the UUID is only in the tooltip
    assert "{&#x27;changes&#x27;" not in body  # no Python dict repr


def _anchor(slug: str) -> str:
    out = StringIO()
    call_command("gaby", "audit", "anchor", "--client", slug, stdout=out)
    return out.getvalue().strip()


def test_deleting_the_newest_events_passes_the_chain_but_not_its_anchor(hartwell: Any) -> None:
    with tenant_context(hartwell):
        events = [audit.record(event="test.step", payload={"i": i}) for i in range(3)]
    token = _anchor("hartwell")
    assert token.startswith(f"ga1.hartwell.{events[-1].sequence}.")
    out = StringIO()
    call_command("gaby", "audit", "verify", "--client", "hartwell", "--anchor", token, stdout=out)
    assert "holds its anchor" in out.getvalue()
    with tenant_context(hartwell):
        _tamper("DELETE FROM auditlog_auditevent WHERE sequence >= %s", [events[1].sequence])
        assert audit.verify().ok  # the chain alone cannot tell
    with pytest.raises(CommandError, match=rf"event #{events[-1].sequence}, anchored, is gone"):
        call_command("gaby", "audit", "verify", "--client", "hartwell", "--anchor", token)


def test_a_rechained_tail_passes_the_chain_but_not_its_anchor(hartwell: Any) -> None:
    """An attacker with the table rewrites an event and recomputes every hash after it."""
    with tenant_context(hartwell):
        events = [audit.record(event="test.step", payload={"i": i}) for i in range(3)]
    token = _anchor("hartwell")
    with tenant_context(hartwell):
        rows = list(AuditEvent.objects.filter(sequence__gte=events[0].sequence).order_by("sequence"))
        prev = rows[0].prev_hash
        for row in rows:
            payload = {"i": 99} if row.pk == events[0].pk else row.payload
            digest = audit.compute_hash(
                sequence=row.sequence,
                occurred_at=row.occurred_at,
                actor_kind=row.actor_kind,
                actor_id=row.actor_id,
                event=row.event,
                payload=payload,
                prev_hash=prev,
            )
            _tamper(
                "UPDATE auditlog_auditevent SET payload = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [json.dumps(payload), prev, digest, row.pk],
            )
            prev = digest
        assert audit.verify().ok  # the rewritten chain is consistent
    with pytest.raises(CommandError, match="is not the one anchored: the chain was rewritten"):
        call_command("gaby", "audit", "verify", "--client", "hartwell", "--anchor", token)


def test_a_forged_or_foreign_anchor_is_refused(hartwell: Any, dearborn: Any) -> None:
    token = _anchor("hartwell")
    parts = token.split(".")
    forged = ".".join([*parts[:2], str(int(parts[2]) + 5), *parts[3:]])
    with pytest.raises(CommandError, match="signature does not hold"):
        call_command("gaby", "audit", "verify", "--client", "hartwell", "--anchor", forged)
    with pytest.raises(CommandError, match="is of 'hartwell', not of this log"):
        call_command("gaby", "audit", "verify", "--client", "dearborn", "--anchor", token)
