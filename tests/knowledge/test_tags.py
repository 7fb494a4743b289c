"""Tags from Markdown front matter filter search (in the service, the API and the playground), per client (MSP-6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.knowledge.extract import extract, front_matter_tags
from apps.knowledge.models import Document, SourceKind
from apps.knowledge.retrieval import Filters, search
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import write_tree

TAGGED = {
    "remote.md": "---\ntitle: Remote access\ntags: [VPN, remote]\n---\n# Remote VPN access\n\nReset the VPN password "
    "in the OpenVPN portal.\n",
    "office.md": "---\ntags: office, network\n---\n# Office VPN\n\nThe office VPN password is reset by the firewall "
    "team.\n",
    "plain.md": "# VPN notes\n\nA VPN password reset needs the user's badge number.\n",
}


def test_front_matter_tags_are_read_and_lines_kept() -> None:
    tags, text = front_matter_tags(TAGGED["remote.md"])
    assert tags == ("vpn", "remote")
    assert text.splitlines()[4] == "# Remote VPN access" and "tags:" not in text  # line numbers unchanged
    assert front_matter_tags(TAGGED["office.md"])[0] == ("office", "network")
    assert front_matter_tags("# No front matter\n---\ntags: x\n---\n") == ((), "# No front matter\n---\ntags: x\n---\n")
    assert extract("remote.md", TAGGED["remote.md"].encode()).title == "Remote VPN access"


def _sync(root: Path) -> None:
    source = create_source(kind=SourceKind.DIRECTORY, name="Tagged", config={"path": str(root)}, server_paths=True)
    sync_now(source=source)


@pytest.mark.django_db
def test_a_tag_filter_keeps_only_tagged_documents_of_this_client(
    hartwell: Any, dearborn: Any, tmp_path: Path, as_user: Any
) -> None:
    with tenant_context(hartwell):
        _sync(write_tree(tmp_path / "hartwell", TAGGED))
        assert dict(Document.objects.values_list("uri", "tags")) == {
            "remote.md": ["vpn", "remote"],
            "office.md": ["office", "network"],
            "plain.md": [],
        }
        everything = {h.citation.uri for h in search("reset the vpn password", record_usage=False).hits}
        assert everything == {"remote.md", "office.md", "plain.md"}
        for mode in ("hybrid", "lexical", "semantic"):
            only = search("reset the vpn password", filters=Filters(tags=["VPN"]), mode=mode, record_usage=False)
            assert {h.citation.uri for h in only.hits} == {"remote.md"}, mode
        either = search("reset the vpn password", filters=Filters(tags=["remote", "office"]), record_usage=False)
        assert {h.citation.uri for h in either.hits} == {"remote.md", "office.md"}
    with tenant_context(dearborn):
        _sync(write_tree(tmp_path / "dearborn", {"tax.md": "---\ntags: [vpn]\n---\n# Tax VPN\n\nVPN password help.\n"}))
        hits = search("reset the vpn password", filters=Filters(tags=["vpn", "remote"]), record_usage=False).hits
        assert {h.citation.uri for h in hits} == {"tax.md"}  # never Hartwell's remote.md

    alice = as_user("alice", "hartwell")
    api = alice.get("/api/v1/knowledge/search", {"q": "reset the vpn password", "tag": "office"})
    assert api.status_code == 200 and {h["citation"]["uri"] for h in api.json()["hits"]} == {"office.md"}
    page = alice.get("/knowledge/search/", {"q": "reset the vpn password", "tags": "remote", "mode": "lexical"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Remote VPN access" in html and "Office VPN" not in html and "lexical retrieval" in html
