"""Plans and quotas through the real path: the gateway against the scripted OpenAI-compatible server, the month's
tally in Redis, the notice before the cap (once a month) and the hard stop at it, an investigation stopped by it
escalated with the reason on its timeline, embeddings counted, and seats enforced where members are added."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import set_membership
from apps.agent.prompts import load_prompt
from apps.auditlog.models import AuditEvent
from apps.core.months import this_month
from apps.llm import quota, rollup
from apps.llm.budget import Budget, BudgetExceeded, QuotaExceeded, Untrusted
from apps.llm.embeddings import embed
from apps.llm.gateway import LLMGateway
from apps.llm.models import CallStatus, LLMCall
from apps.llm.services import save_provider, set_route
from tenants.models import ClientPlan, Plan, QuotaLevel, QuotaNotice
from tests.agent.conftest import make_ticket, source  # noqa: F401  (fixtures: a webhook source's ticket)
from tests.agent.helpers import classify, investigate, route_all
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    """The notice task runs in place when its transaction commits, as a worker would run it."""
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_tally() -> Iterator[None]:
    """Redis outlives each test's rolled-back rows: the notice keys start empty."""
    from django.conf import settings

    from apps.core.redis_clients import shared_client

    redis = shared_client(settings.REDIS_URL)
    for key in redis.scan_iter("gaby:llm:month:*"):
        redis.delete(key)
    for key in redis.scan_iter("gaby:quota-notice:*"):
        redis.delete(key)
    yield


def _cap(client: Any, *, tokens: int | None = None, usd: str | None = None, seats: int | None = None) -> Plan:
    plan = Plan.objects.create(
        name=f"Test {tokens}-{usd}-{seats}", monthly_tokens=tokens, monthly_usd=usd and Decimal(usd), seats=seats
    )
    ClientPlan.objects.update_or_create(client=client, defaults={"plan": plan})
    return plan


def _ask(client: Any, budget: Budget | None = None) -> Any:
    return LLMGateway(client, backoff_seconds=0.01).complete(
        workflow="reply",
        prompt=load_prompt("reply"),
        variables={"client_name": client.name, "tone": "friendly"},
        untrusted=[Untrusted("ticket", "My printer is offline.")],
        budget=budget or Budget("q-1"),
    )


def _route_reply(client: Any, llm: ScriptedLLM) -> None:
    provider = save_provider(client=client, name="scripted", kind="openai_compatible", api_base=llm.base_url)
    set_route(workflow="reply", provider=provider, model="scripted-model")


def test_the_notice_goes_once_then_the_cap_stops_calls(
    in_hartwell: Any, llm: ScriptedLLM, people: dict[str, Any], mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _cap(in_hartwell, tokens=1000)
    _route_reply(in_hartwell, llm)
    llm.then(Reply("one", usage=(700, 100)), Reply("two", usage=(50, 50)), Reply("three", usage=(100, 100)))
    with django_capture_on_commit_callbacks(execute=True):
        _ask(in_hartwell)  # 800 of 1000 after it: nothing said yet (checked before the call)
        assert QuotaNotice.objects.count() == 0
        _ask(in_hartwell)  # 80% reached before it: the notice, once
        _ask(in_hartwell)  # still under the cap (900): the notice is not sent again
    notices = list(QuotaNotice.objects.values_list("level", flat=True))
    assert notices == [QuotaLevel.NOTICE]
    assert len(mailoutbox) == 1 and "nearing its monthly model quota" in mailoutbox[0].subject
    assert set(mailoutbox[0].to) >= {people["mona"].email, people["alice"].email}
    assert people["carol"].email not in mailoutbox[0].to  # Dearborn's admin hears nothing of Hartwell
    assert "80%" in mailoutbox[0].body or "90%" in mailoutbox[0].body or "%" in mailoutbox[0].body

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(QuotaExceeded) as stopped:
        _ask(in_hartwell)  # 1100 of 1000: refused before the model is asked
    message = str(stopped.value)
    assert "Monthly model quota reached for Hartwell" in message and "1,100 of 1,000 tokens" in message
    assert isinstance(stopped.value, BudgetExceeded)  # the investigation engine's budget stop handles it
    assert len(llm.requests) == 3  # the fourth call never left
    assert LLMCall.objects.filter(status=CallStatus.BUDGET_STOPPED).count() == 1
    assert sorted(QuotaNotice.objects.values_list("level", flat=True)) == [QuotaLevel.NOTICE, QuotaLevel.STOP]
    assert len(mailoutbox) == 2 and "model calls are stopped" in mailoutbox[1].subject
    assert AuditEvent.objects.filter(event="billing.quota_notice").count() == 2
    with pytest.raises(QuotaExceeded):
        _ask(in_hartwell)
    assert len(mailoutbox) == 2  # stopped again, told once


def test_a_notice_rolled_back_with_its_transaction_is_sent_by_the_next_check(
    in_hartwell: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    """The "already sent" key is set when the notice's row commits: a rollback leaves no key claiming a notice."""
    _cap(in_hartwell, tokens=1000)
    rollup.record(in_hartwell.pk, this_month(), tokens=850, cost_usd=Decimal(0), calls=3)  # 85% of the cap spent
    with pytest.raises(RuntimeError), transaction.atomic():
        quota.Quota(in_hartwell).check()  # the notice is created in this transaction ...
        raise RuntimeError("the investigation failed after the check")  # ... and rolled back with it
    assert QuotaNotice.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        quota.Quota(in_hartwell).check()  # not silenced by a key of the rolled-back attempt
    assert list(QuotaNotice.objects.values_list("level", flat=True)) == [QuotaLevel.NOTICE]
    assert len(mailoutbox) == 1
    gate = quota.Quota(in_hartwell)
    _ = gate.limits
    with django_assert_num_queries(1):
        gate.check()  # committed: the key spares the notice's queries, only the month's row is read
    assert len(mailoutbox) == 1


def test_the_month_is_one_row_kept_with_each_recorded_call(
    in_hartwell: Any, llm: ScriptedLLM, django_assert_num_queries: Any
) -> None:
    _cap(in_hartwell, usd="100")
    _route_reply(in_hartwell, llm)
    llm.then(Reply("one", usage=(10, 10)), Reply("two", usage=(10, 10)), Reply("three", usage=(5, 5)))
    _ask(in_hartwell)
    gate = quota.Quota(in_hartwell)
    assert gate.limits.capped  # the plan, read once per gateway
    with django_assert_num_queries(1):
        gate.check()  # one indexed read of the month's row, whatever the number of calls
    month = this_month()
    assert rollup.month_usage(in_hartwell.pk, month).tokens == 20
    _ask(in_hartwell)
    assert rollup.month_usage(in_hartwell.pk, month).tokens == 40  # added as the call was recorded
    with pytest.raises(RuntimeError), transaction.atomic():
        _ask(in_hartwell)  # recorded, then rolled back with whatever made the caller fail ...
        raise RuntimeError("the caller failed")
    used = rollup.month_usage(in_hartwell.pk, month)  # ... and the rollup with it: it always equals the records
    records = LLMCall.objects.aggregate(n=Count("id"), tokens=Sum(F("input_tokens") + F("output_tokens")))
    assert (used.calls, used.tokens) == (records["n"], records["tokens"]) == (2, 40)


def test_an_uncapped_client_pays_no_tally(in_dearborn: Any) -> None:
    gate = quota.Quota(in_dearborn)
    with CaptureQueriesContext(connection) as queries:
        gate.check()
        gate.check()
    read = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(read) == 1 and "tenants_clientplan" in read[0]  # the plan, once per gateway; no tally
    assert not gate.limits.capped


def test_an_investigation_stopped_by_the_quota_is_escalated_with_the_reason(
    make_ticket: Any,  # noqa: F811
    llm: ScriptedLLM,
    in_hartwell: Any,
) -> None:
    route_all(in_hartwell, llm)
    _cap(in_hartwell, tokens=100)
    llm.then(classify(), Reply("", usage=(200, 10)))  # the classification alone spends the month's cap
    investigation = investigate(make_ticket())
    assert investigation.status == "failed" and investigation.verdict == "failed"
    assert "Monthly model quota reached for Hartwell" in investigation.failure_reason
    last = investigation.steps.order_by("-ordinal")[0]
    assert last.title == "Investigation failed" and "Monthly model quota reached" in last.detail
    assert investigation.escalation_reason == investigation.failure_reason
    calls = LLMCall.objects.filter(budget_key=str(investigation.pk))
    assert list(calls.order_by("created_at").values_list("status", flat=True))[-1] == CallStatus.BUDGET_STOPPED


def test_paid_embeddings_are_recorded_and_counted(in_hartwell: Any, llm: ScriptedLLM) -> None:
    provider = save_provider(client=in_hartwell, name="embedder", kind="openai_compatible", api_base=llm.base_url)
    _cap(in_hartwell, tokens=5)
    vectors = embed(in_hartwell, provider, "text-embedding-3-small", ["reset my password", "vpn"], dimensions=8)
    assert len(vectors) == 2
    call = LLMCall.objects.get(workflow="embed")
    assert (call.status, call.input_tokens, call.request_messages) == ("ok", 4, [{"inputs": 2}])
    embed(in_hartwell, provider, "text-embedding-3-small", ["printer"], dimensions=8)  # 4 of 5: still allowed
    with pytest.raises(QuotaExceeded):
        embed(in_hartwell, provider, "text-embedding-3-small", ["printer"], dimensions=8)  # 5 of 5


def test_seats_are_enforced_where_members_are_added(hartwell: Any, people: dict[str, Any], as_user: Any) -> None:
    _cap(hartwell, seats=2)  # alice (Admin) and bob (Agent) hold both
    with pytest.raises(ValidationError) as refused:
        set_membership(client=hartwell, email="new.agent@example.com", role="agent", actor=people["alice"])
    assert "2 operator seats" in str(refused.value) and "Viewer" in str(refused.value)
    viewer = set_membership(client=hartwell, email="new.viewer@example.com", role="viewer", actor=people["alice"])
    assert viewer.role == "viewer"  # Viewers take no seat
    set_membership(client=hartwell, email=people["bob"].email, role="admin", actor=people["alice"])  # bob keeps his
    # Through the settings page: the form shows the reason, nothing is created.
    browser = as_user("alice", "hartwell")
    response = browser.post(
        "/settings/members/", {"email": "third@example.com", "role": "agent"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and "operator seats" in response.content.decode()
    from apps.accounts.models import User

    assert not User.objects.filter(email="third@example.com").exists()


def test_a_plan_can_allow_overage_up_to_its_stop_percent(in_hartwell: Any) -> None:
    """PENNY's plans stop at a hard limit above the included one (150%): a plan's stop_percent does the same."""
    plan = _cap(in_hartwell, tokens=1000)
    Plan.objects.filter(pk=plan.pk).update(stop_percent=150)
    rollup.record(in_hartwell.pk, this_month(), tokens=1200, cost_usd=Decimal(0))
    quota.Quota(in_hartwell).check()  # 120% of the cap: over it, within the overage
    rollup.record(in_hartwell.pk, this_month(), tokens=300, cost_usd=Decimal(0))
    with pytest.raises(QuotaExceeded, match=r"1,500 of 1,000 tokens \(150% of it, overage included\)"):
        quota.Quota(in_hartwell).check()
    with pytest.raises(ValidationError):
        Plan(name="Too little", stop_percent=90).full_clean()
