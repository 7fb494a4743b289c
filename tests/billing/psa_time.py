"""The exactly-once checks every PSA's time write-back passes (ConnectWise, Autotask), run against its stand-in.

``entries(record)`` is what the stand-in holds charged to the record's ticket; ``lose()`` makes the stand-in perform
the next time write and answer 504, as a gateway that timed out after the PSA committed it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.billing import tasks, writeback
from apps.billing.models import TimeRecord, WriteState

Entries = Callable[[TimeRecord], list[dict[str, Any]]]


def lost_answer_is_found_by_marker(client: Any, records: list[TimeRecord], lose: Callable[[], None],
                                   entries: Entries) -> dict[str, Any]:  # fmt: skip
    """A lost answer is found by its marker on the retry, not written twice; returns the one entry."""
    first, second = records
    with tenant_context(client):
        assert writeback.write(second.pk) == "written"  # another ticket's entry: not mistaken for this one
        lose()
        with pytest.raises(writeback.RetryWrite) as raised:
            writeback.write(first.pk)
        first.refresh_from_db()
        assert first.state == WriteState.QUEUED and "did not take it (attempt 1)" in first.reason
        assert len(entries(first)) == 1  # it did land
        later = timezone.now() + timedelta(seconds=raised.value.countdown)
        assert writeback.write(first.pk, now=later) == "written"
        first.refresh_from_db()
    [entry] = entries(first)
    assert (first.state, first.reason, first.attempts) == (WriteState.WRITTEN, "", 2)
    assert first.external_id == str(entry["id"])
    return dict(entry)


def sweep_confirms_a_killed_write(client: Any, records: list[TimeRecord], monkeypatch: Any, entries: Entries) -> None:
    """One worker writes to the PSA and dies before recording it; the other dies right after its claim. After the
    lease, the sweep finds the first by marker and writes the second: one entry each."""
    after_write, before_write = records
    with tenant_context(client):
        attempt = writeback.claim(after_write.pk)
        assert attempt is not None
        written_id = writeback.adapter_of(attempt.record).write_time_entry(writeback.entry_for(attempt.record))
        assert writeback.claim(before_write.pk) is not None
        for record in records:
            TimeRecord.objects.filter(pk=record.pk).update(
                attempted_at=timezone.now() - writeback.LEASE - timedelta(seconds=1)
            )
    # The beat's sweep sends each lost record's task again; here the task runs in this process, not a broker.
    monkeypatch.setattr(tasks.write_time, "apply_async", lambda args: tasks.write_time.apply(args=args).get())
    assert tasks.sweep_time() == 2
    with tenant_context(client):
        for record in records:
            record.refresh_from_db()
            assert (record.state, record.attempts) == (WriteState.WRITTEN, 2), record.reason
    assert after_write.external_id == written_id
    assert [len(entries(r)) for r in records] == [1, 1]
