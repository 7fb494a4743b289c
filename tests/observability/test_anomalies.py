"""Cross-client anomalies (MSP-11): the same problem at several clients is found by its error string or its
meaning, named by clients and counts only, labelled only with what two clients' tickets share, and shown to MSP
staff alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.observability import anomalies
from apps.tickets import services
from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

pytestmark = pytest.mark.django_db


def _tickets(client: Any, *texts: tuple[str, str]) -> None:
    """File each (title, body) as a ticket in ``client``'s schema, the way any channel would."""
    with tenant_context(client):
        source = services.create_source(client=client, kind="webhook", name="Anomaly test inbox", config={})
        for n, (title, body) in enumerate(texts):
            normalized = NormalizedTicket(
                external_id=f"A-{n}",
                title=title,
                body=body,
                contact=NormalizedContact(email=f"person{n}@{client.slug}.example", name="Someone"),
                messages=(NormalizedMessage(external_id=f"A-{n}-m1", body=body),),
            )
            services.ingest_ticket(source=source, normalized=normalized)


def _with_client(report: anomalies.Report, slug: str) -> list[anomalies.Anomaly]:
    return [a for a in report.anomalies if slug in {client.slug for client, _ in a.clients}]


def test_the_same_error_at_two_clients_is_one_anomaly_labelled_only_by_what_they_share(
    hartwell: Any, dearborn: Any
) -> None:
    _tickets(
        hartwell,
        ("Sign-in blocked", "Since this morning Teams says AADSTS53003 when I sign in. Pemberton matter is due today!"),
        ("Sign in error", "aadsts53003 again on my laptop, access blocked by conditional access"),
        ("Toner", "The reception printer is out of toner."),
    )
    dearborn_title, dearborn_body = "Blocked", "AADSTS53003: conditional access blocked me"
    _tickets(dearborn, (dearborn_title, dearborn_body))

    report = anomalies.find_anomalies("24h")

    (anomaly,) = [a for a in report.anomalies if "AADSTS53003" in a.errors]
    assert {client.slug: count for client, count in anomaly.clients} == {"hartwell": 2, "dearborn": 1}
    assert {"conditional", "access", "blocked"} <= set(anomaly.words)  # both clients wrote them
    # Every word of the label is one Dearborn wrote too: nothing only Hartwell wrote ("Pemberton", "Teams").
    assert set(anomaly.words) <= anomalies.content_words(f"{dearborn_title} {dearborn_body}")
    assert not any("toner" in a.words for a in report.anomalies)


def test_rewordings_of_one_problem_join_by_meaning_and_one_clients_problem_is_no_anomaly(
    hartwell: Any, dearborn: Any
) -> None:
    _tickets(
        hartwell,
        ("Outlook password", "Outlook keeps asking for my password over and over"),
        ("Scanner", "The scanner on the second floor jams on every page"),
        ("Scanner again", "Second floor scanner is jamming every single page"),
    )
    _tickets(dearborn, ("Password prompts", "Outlook keeps prompting me for my password again and again"))

    report = anomalies.find_anomalies("24h")

    assert report.compared_by == "meaning"
    (outlook,) = [a for a in _with_client(report, "dearborn") if "outlook" in a.words]
    assert {client.slug for client, _ in outlook.clients} == {"hartwell", "dearborn"}
    assert not any("scanner" in a.words for a in report.anomalies)  # Hartwell's own problem, at one client
    assert not [a for a in anomalies.find_anomalies("24h", min_clients=3).anomalies if "outlook" in a.words]


@override_settings(KNOWLEDGE_EMBEDDINGS="none")
def test_without_embeddings_shared_words_decide(hartwell: Any, dearborn: Any) -> None:
    _tickets(hartwell, ("VPN down", "The VPN client fails to connect from home since the update"))
    _tickets(dearborn, ("VPN", "VPN client fails to connect from home after the update"))

    report = anomalies.find_anomalies("24h")

    assert report.compared_by == "words"
    (vpn,) = [a for a in report.anomalies if "vpn" in a.words]
    assert {client.slug for client, _ in vpn.clients} == {"hartwell", "dearborn"}


def test_bad_filters_are_refused_with_what_to_use() -> None:
    with pytest.raises(ValueError, match="24h, 72h, 7d"):
        anomalies.find_anomalies("1y")
    with pytest.raises(ValueError, match="at least two clients"):
        anomalies.find_anomalies("24h", min_clients=1)


def test_error_strings_are_the_codes_a_ticket_quotes() -> None:
    text = (
        "Outlook shows 0x80070005, then Windows crashed with CRITICAL_PROCESS_DIED; the mail bounced with "
        "550 5.7.1 and the app threw NullReferenceException after KB5034441. Error code 1603."
    )
    assert anomalies.error_strings(text) == {
        "0X80070005",
        "CRITICAL_PROCESS_DIED",
        "550 5.7.1",
        "NULLREFERENCEEXCEPTION",
        "KB5034441",
        "ERROR CODE 1603",
    }


def test_only_msp_staff_see_the_page_and_no_ticket_text_reaches_it(as_user: Any, hartwell: Any, dearborn: Any) -> None:
    _tickets(hartwell, ("Mail bounce", "Mail to the court bounces: 550 5.7.1 relaying denied. Case Okonkwo v. Reyes."))
    _tickets(dearborn, ("Bounce", "Emails to the IRS bounce back with 550 5.7.1 relaying denied"))
    cache.delete_many([f"gaby:anomalies:{window}" for window in anomalies.WINDOWS])

    page = as_user("mona", "public").get("/anomalies/")

    assert page.status_code == 200
    body = page.content.decode()
    assert "550 5.7.1" in body and 'data-testid="anomaly-client-hartwell"' in body
    assert 'data-testid="anomaly-client-dearborn"' in body
    assert "Okonkwo" not in body and "IRS" not in body and "court" not in body  # one client's words only
    wider = as_user("mona", "public").get("/anomalies/?min_clients=3").content.decode()
    assert 'data-testid="anomaly-client-dearborn"' not in wider  # two clients only: narrowed from the same groups
    assert 'data-testid="anomalies-link"' in as_user("mona", "public").get("/status/").content.decode()
    part = as_user("mona", "public").get("/anomalies/?window=7d&min_clients=x", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and b"<html" not in part.content and b'data-testid="anomaly"' in part.content
    assert as_user("alice", "public").get("/anomalies/").status_code == 403  # a client's Admin
    assert as_user("carol", "public").get("/anomalies/").status_code == 403
    assert as_user("alice", "hartwell").get("/anomalies/").status_code == 404  # not on a client's domain


def _filed(client: Any, title: str, body: str, *, ago: timedelta) -> None:
    """A ticket filed ``ago`` before now (its creation moved back in time after it is ingested)."""
    from apps.tickets.models import Ticket

    _tickets(client, (title, body))
    with tenant_context(client):
        Ticket.objects.filter(title=title).update(created_at=timezone.now() - ago)


def test_a_problem_as_wide_as_in_an_ordinary_week_is_recurring_not_an_anomaly(
    as_user: Any, hartwell: Any, dearborn: Any
) -> None:
    # Every Monday both clients' passwords expire (the same error at both, four weeks running): nothing new.
    for week in range(5):
        for client in (hartwell, dearborn):
            ago = timedelta(weeks=week, hours=2)
            _filed(client, f"Expired {week}", f"Password expired, sign-in fails with AADSTS50055 ({week})", ago=ago)
    # A sync error only Hartwell saw in the past weeks reaches Dearborn too this time: wider than usual.
    for week in range(1, 5):
        _filed(hartwell, f"Sync {week}", f"OneDrive stops syncing with 0x8004de40 ({week})", ago=timedelta(weeks=week))
    _filed(hartwell, "Sync now", "OneDrive stops syncing with 0x8004de40", ago=timedelta(hours=1))
    _filed(dearborn, "Sync here", "0x8004de40 from OneDrive on every laptop", ago=timedelta(hours=3))
    # Three weeks ago, outside the same 24 hours of that week: not counted for the 24h window.
    _filed(dearborn, "Old sync", "0x8004de40 once", ago=timedelta(weeks=3, hours=30))

    report = anomalies.find_anomalies("24h")

    (expiry,) = [a for a in report.recurring if "AADSTS50055" in a.errors]
    assert expiry.weekly_clients == [2, 2, 2, 2] and expiry.usual_clients == 2
    assert not [a for a in report.anomalies if "AADSTS50055" in a.errors]
    (sync,) = [a for a in report.anomalies if "0X8004DE40" in a.errors]
    assert sync.weekly_clients == [1, 1, 1, 1] and len(sync.clients) == 2
    cache.delete_many([f"gaby:anomalies:{window}" for window in anomalies.WINDOWS])
    page = anomalies.cached_anomalies("24h")
    assert [a.errors for a in page.recurring if "AADSTS50055" in a.errors]
    body = as_user("mona", "public").get("/anomalies/").content.decode()
    assert 'data-testid="recurring"' in body and "AADSTS50055: 2 clients now, usually 2" in body
    assert "Usually 1 client in the same 24h of a week" in body  # the sync error, an anomaly: wider than usual


def test_similar_tickets_join_in_components_like_pairwise_union() -> None:
    """The numpy grouping gives the same groups as joining every similar pair: a chain a~b~c is one group."""
    import numpy as np

    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors[10] = vectors[20] + 0.01
    vectors[30] = vectors[20] * 0.9 + vectors[40] * 0.1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairwise = anomalies._Groups(len(vectors))
    similar = vectors @ vectors.T >= anomalies.SIMILAR_VECTORS
    for i, j in zip(*np.nonzero(similar), strict=True):
        pairwise.join(int(i), int(j))
    labels = anomalies._components(vectors)
    for i in range(len(vectors)):
        for j in range(len(vectors)):
            assert (labels[i] == labels[j]) == (pairwise.find(i) == pairwise.find(j))
