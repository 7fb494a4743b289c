"""FND-5: the source-code connector against a real git repository the test builds, local and cloned."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector
from apps.connectors.servers.code.repo import RepoError, clean_path
from apps.connectors.specs import code_draft

WEBHOOK = "".join(f"# line {n}\n" for n in range(1, 140)) + (
    "\n\ndef handle_webhook(event):\n    if event['type'] == 'invoice.paid':\n        return mark_paid(event)\n"
)


def _git(repo: Path, *args: str, author: str = "Dev") -> str:
    env_author = ["-c", f"user.name={author}", "-c", f"user.email={author.lower()}@example.com"]
    done = subprocess.run(["git", *env_author, *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


def _commit(repo: Path, files: dict[str, str], message: str, author: str = "Dev") -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", message, author=author)


@pytest.fixture
def billing_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "billing-service"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, {"billing/webhook.py": WEBHOOK, "README.md": "Billing service\n"}, "Handle Stripe webhooks", "Ana")
    _commit(
        repo,
        {
            "api/server.go": "package api\n\ntype Invoice struct {\n\tID string\n}\n\nfunc (s *Server) MarkPaid(id string) error {\n\treturn nil\n}\n",  # noqa: E501
            "web/src/checkout.ts": "export class Checkout {}\nexport const markPaid = async (id: string) => {\n  return id;\n};\n",  # noqa: E501
            "tests/test_webhook.py": "from billing.webhook import handle_webhook\n\ndef test_handle_webhook():\n    handle_webhook({})\n",  # noqa: E501
        },
        "Add the API and checkout",
        "Ben",
    )
    (repo / "untracked.py").write_text("def handle_webhook():\n    pass\n")  # not committed: never visible
    _git(repo, "checkout", "-q", "-b", "release")
    _commit(repo, {"billing/webhook.py": WEBHOOK.replace("mark_paid(event)", "mark_paid_v2(event)")}, "v2", "Ana")
    _git(repo, "checkout", "-q", "main")
    return repo


def _call(connector: Connector, tool: str, **arguments: Any) -> Any:
    return services.execute_tool_call(connector=connector, tool_name=tool, arguments=arguments, actor=None)


@pytest.fixture
def code(in_hartwell: Any, people: dict[str, Any], billing_repo: Path) -> Connector:
    draft = code_draft(name="Billing repo", repo=str(billing_repo))
    return services.connect(client=in_hartwell, draft=draft, actor=people["mona"])  # a host path: MSP staff


def test_every_tool_reads(code: Connector) -> None:
    tools = dict(code.tools.values_list("name", "access"))
    assert tools == dict.fromkeys(["blame", "find_symbol", "read_file", "recent_commits", "search"], Access.READ)


def test_search_cites_path_and_line_with_context(code: Connector) -> None:
    found = _call(code, "search", pattern="mark_pa(id|in)", paths=["*.py"], context=1)
    assert not found.is_error
    assert "billing/webhook.py:144\n" in found.text and ">  143" not in found.text
    assert ">  144          return mark_paid(event)" in found.text and "   143" in found.text
    assert "untracked.py" not in found.text  # only tracked files, at HEAD
    literal = _call(code, "search", pattern="event['type']", literal=True, context=0)
    assert literal.text.splitlines()[1] == "billing/webhook.py:143:     if event['type'] == 'invoice.paid':"
    excluded = _call(code, "search", pattern="handle_webhook", paths=["!tests/**"], context=0)
    assert "tests/" not in excluded.text and "billing/webhook.py:142:" in excluded.text
    assert "No match" in _call(code, "search", pattern="nothing-like-this").text
    on_branch = _call(code, "search", pattern="mark_paid_v2", ref="release", context=0)
    assert "billing/webhook.py:144:" in on_branch.text


def test_read_file_by_line_range_and_refusals(code: Connector) -> None:
    text = _call(code, "read_file", path="billing/webhook.py", start_line=142, end_line=144).text
    assert text.splitlines()[0].startswith("billing/webhook.py:142-144 of 144 lines at ")
    assert "   142  def handle_webhook(event):" in text
    for path, why in [
        ("../../etc/passwd", "points outside the repository"),
        ("/etc/passwd", "absolute path"),
        ("billing/../../x", "points outside the repository"),
        ("billing", "is a directory"),
        ("untracked.py", "not a file in the repository"),
    ]:
        refused = _call(code, "read_file", path=path)
        assert refused.is_error and why in refused.text, (path, refused.text)
    past = _call(code, "read_file", path="README.md", start_line=50)
    assert past.is_error and "has 1 lines" in past.text
    bad_ref = _call(code, "read_file", path="README.md", ref="--upload-pack=touch /tmp/x")
    assert bad_ref.is_error and "is not a branch, tag or commit name" in bad_ref.text


def test_history_and_blame(code: Connector) -> None:
    log = _call(code, "recent_commits").text.splitlines()
    assert "Ben: Add the API and checkout" in log[0] and "Ana: Handle Stripe webhooks" in log[2]
    assert "v2" not in "\n".join(log)  # main, not the release branch
    touching = _call(code, "recent_commits", path="billing/webhook.py", ref="release").text
    assert "Ana: v2" in touching and "Ben" not in touching
    blame = _call(code, "blame", path="billing/webhook.py", start_line=142, end_line=143).text.splitlines()
    assert blame[0].startswith("billing/webhook.py:142  ") and " Ana  def handle_webhook(event):" in blame[0]
    assert len(blame) == 2


def test_find_symbol_across_languages(code: Connector) -> None:
    python = _call(code, "find_symbol", name="handle_webhook").text
    assert "billing/webhook.py:142  [python function]" in python
    assert "tests/test_webhook.py" not in python  # an import, a call or test_handle_webhook is not the definition
    assert "api/server.go:7  [go function]" in _call(code, "find_symbol", name="MarkPaid").text
    assert "api/server.go:3  [go type]" in _call(code, "find_symbol", name="Invoice").text
    assert "web/src/checkout.ts:2  [javascript/typescript function]" in _call(code, "find_symbol", name="markPaid").text
    assert "web/src/checkout.ts:1  [javascript/typescript class]" in _call(code, "find_symbol", name="Checkout").text
    refused = _call(code, "find_symbol", name="a.b(")
    assert refused.is_error and "is not an identifier" in refused.text


def test_a_clone_url_is_mirrored_and_fetched_on_refresh(
    in_hartwell: Any, people: dict[str, Any], billing_repo: Path, tmp_path: Path, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "data"
    draft = code_draft(name="Cloned", repo=billing_repo.as_uri(), refresh_s=0)
    cloned = services.connect(client=in_hartwell, draft=draft, actor=people["mona"])
    assert list((tmp_path / "data" / "connectors" / "code").glob("*.git/HEAD"))
    assert "billing/webhook.py:142" in _call(cloned, "find_symbol", name="handle_webhook").text
    _commit(billing_repo, {"billing/refunds.py": "def refund_invoice(invoice):\n    pass\n"}, "Refunds", "Cy")
    assert "billing/refunds.py:1  [python function]" in _call(cloned, "find_symbol", name="refund_invoice").text
    assert "Cy: Refunds" in _call(cloned, "recent_commits", limit=1).text


def test_client_admins_give_a_clone_url_not_a_host_path(
    in_hartwell: Any, people: dict[str, Any], billing_repo: Path
) -> None:
    for repo in (str(billing_repo), billing_repo.as_uri(), "git@github.com:acme/billing.git", "ssh://git@h/r.git"):
        with pytest.raises(ValidationError, match="only MSP staff may point Gaby at a path on its host or use its SSH"):
            services.test_connection(client=in_hartwell, draft=code_draft(name="x", repo=repo), actor=people["alice"])


def test_a_repository_that_cannot_be_read_fails_the_connection_test(
    in_hartwell: Any, people: dict[str, Any], tmp_path: Path
) -> None:
    draft = code_draft(name="Nothing", repo=str(tmp_path / "missing"))
    with pytest.raises(ConnectorUnavailable, match=r"Cannot open the repository: .* is not a directory"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["mona"])


@pytest.mark.parametrize(
    ("path", "clean"), [("billing/webhook.py", "billing/webhook.py"), ("./a/../b.py", "b.py"), ("a\\b.py", "a/b.py")]
)
def test_clean_path(path: str, clean: str) -> None:
    assert clean_path(path) == clean


@pytest.mark.parametrize("path", ["", "..", "../x", "/abs", "C:/win", "a/../../b", "x\0y"])
def test_clean_path_refuses(path: str) -> None:
    with pytest.raises(RepoError):
        clean_path(path)
