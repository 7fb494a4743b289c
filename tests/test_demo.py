"""The demo clients come with their own knowledge (issue 4), queued for the worker once, never mixed."""

from typing import Any

from django_tenants.utils import tenant_context

from apps.knowledge.models import KnowledgeSource
from tenants.demo import DEMO_KNOWLEDGE, seed_knowledge


def test_each_demo_client_gets_its_own_help_center_once(hartwell: Any, dearborn: Any) -> None:
    seed_knowledge({"hartwell": hartwell, "dearborn": dearborn})
    seed_knowledge({"hartwell": hartwell, "dearborn": dearborn})  # a second run adds nothing
    with tenant_context(hartwell):
        [source] = KnowledgeSource.objects.all()
        assert source.config["path"] == str(DEMO_KNOWLEDGE / "hartwell") and source.status == "queued"
    with tenant_context(dearborn):
        [source] = KnowledgeSource.objects.all()
        assert source.config["path"] == str(DEMO_KNOWLEDGE / "dearborn")
    assert sorted(p.name for p in (DEMO_KNOWLEDGE / "hartwell").glob("*.md")) == [
        "email-and-mfa.md",
        "printing.md",
        "vpn.md",
    ]
