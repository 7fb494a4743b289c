"""axe-core in Chromium on every page of the operator shell, the portal, sign-in and the error pages (issue 20,
item 10): no serious or critical violation anywhere, as each persona sees it, at desktop and phone widths.

axe-core comes from npm (tests/npm, installed under var/npm by ``./gaby test``). It is served to the page from the
page's own origin through a Playwright route, so it loads under Gaby's real Content-Security-Policy: the scan sees
exactly the page a user gets (no CSP bypass, which would also let blocked inline styles change the colours).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve

from tests.browser.scenery import Scenery
from tests.browser.scenery import customer_site as customer_site  # the customer's site that embeds the widget
from tests.browser.scenery import scenery as scenery  # the committed rows the pages show
from tests.browser.test_chat import HostSite
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

AXE = Path(os.environ.get("GABY_DATA_DIR", settings.BASE_DIR / "var")) / "npm" / "node_modules" / "axe-core"
AXE_PATH = "/__axe__/axe.min.js"  # answered by the test's route, never by Gaby
BLOCKING = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RUN_AXE = """async (blocking) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => blocking.includes(v.impact))
    .map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map(n => n.target.join(' ')),
      why: [...v.nodes[0].any, ...v.nodes[0].all, ...v.nodes[0].none].map(c => c.message).join(' ')
    }));
}"""


@pytest.fixture(scope="module")
def axe_script() -> Path:
    script = AXE / "axe.min.js"
    if not script.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is missing at {script}: `./gaby test` installs it with npm ci (tests/npm).")
        pytest.skip("axe-core is not installed (./gaby test installs it with npm ci under var/npm)")
    return script


class Scanner:
    """One signed-in browser context per persona; each page it visits is scanned and its blocking violations kept.

    It also records the routes it scanned and the routes the scanned pages link to, so a test can prove it left no
    page of the shell unscanned.
    """

    def __init__(self, chromium: Any, axe_script: Path, viewport: dict[str, int]) -> None:
        self.context = chromium.new_context(viewport=viewport)
        self.context.set_default_timeout(15000)
        source = axe_script.read_text(encoding="utf-8")
        self.context.route(
            f"**{AXE_PATH}", lambda route: route.fulfill(body=source, content_type="text/javascript; charset=utf-8")
        )
        self.page = self.context.new_page()
        self.width = viewport["width"]
        self.found: list[str] = []
        self.scanned: list[str] = []
        self.scanned_routes: set[str] = set()
        self.linked_routes: dict[str, str] = {}  # route -> one address that leads to it

    def sign_in(self, url: str, email: str, *, lands_on: str = "[data-testid=sidebar]") -> None:
        self.page.goto(url)
        self.page.fill("input[name=login]", email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector(lands_on)

    def scan(self, url: str, *, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == status, f"{url} answered {response and response.status}"
        self.scan_current()

    def scan_current(self) -> None:
        """Scan the page as it is now: axe-core loads from the page's own origin, under its real CSP."""
        self.page.add_script_tag(url=self.page.evaluate("location.origin") + AXE_PATH)
        label = f"{self.page.url} @{self.width}px"
        for v in self.page.evaluate(RUN_AXE, list(BLOCKING)):
            where = " | ".join(v["targets"][:10])
            self.found.append(f"{label}: {v['impact']} {v['id']} ({v['help']}) at {where} — {v['why']}")
        self.scanned.append(label)
        route = route_of(self.page.url)
        if route:
            self.scanned_routes.add(route)
        for href in self.links("a[href]"):
            linked = route_of(href)
            if linked:
                self.linked_routes.setdefault(linked, href)

    def links(self, selector: str) -> list[str]:
        """The distinct addresses the current page's links matching ``selector`` lead to, in page order."""
        return list(dict.fromkeys(self.page.eval_on_selector_all(selector, "els => els.map(e => e.href)")))

    def unscanned(self, *, besides: Iterable[str] = ()) -> dict[str, str]:
        """Routes the scanned pages link to that were not scanned (a link to a missing page shows as ``404``)."""
        skip = self.scanned_routes | NOT_PAGES | set(besides)
        return {route: href for route, href in self.linked_routes.items() if route not in skip}


def route_of(url: str) -> str | None:
    """``tenant:<view name>`` or ``public:<view name>`` for an address of the test server; None for other sites."""
    parts = urlsplit(url)
    if parts.hostname not in ("localhost", "hartwell.localhost", "dearborn.localhost"):
        return None
    where, urlconf = ("public", "gaby_site.urls_public") if parts.hostname == "localhost" else ("tenant", None)
    try:
        match = resolve(parts.path, urlconf=urlconf or "gaby_site.urls_tenant")
    except Resolver404:
        return f"{where}:404 {parts.path}"
    return f"{where}:{match.view_name}"


# Links that lead to downloads, redirects or sign-in hand-offs rather than pages.
NOT_PAGES = {
    "tenant:client_home",
    "tenant:handoff",
    "public:handoff",
    "tenant:agent:evidence",
    "tenant:chat:export",
    "public:portal_costs_csv",  # the costs ledger as a CSV download
    "tenant:safety:audit_export",
}


@pytest.fixture
def scanner(chromium: Any, axe_script: Path) -> Iterator[Any]:
    made: list[Scanner] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Scanner:
        made.append(Scanner(chromium, axe_script, viewport))
        return made[-1]

    yield make
    for s in made:
        s.context.close()


def _assert_clean(s: Scanner) -> None:
    assert not s.found, (
        f"{len(s.found)} serious/critical axe-core violation(s) over {len(s.scanned)} page(s):\n" + "\n".join(s.found)
    )


def _ids(scenery: Scenery) -> dict[str, Any]:
    return {
        "ticket": scenery.ticket.pk,
        "investigation": scenery.investigation.pk,
        "connector": scenery.connector.pk,
        "conversation": scenery.conversation.pk,
        "widget": scenery.widget.pk,
        "document": scenery.document.pk,
        "provider": scenery.provider.pk,
    }


# Every page of a client's shell as its Admin sees it (the richest view): the nav's, their tabs and sub-pages, and
# Settings'. The connect forms are followed from the Connectors and Sources pages' own links.
ADMIN_PAGES = [
    "/dashboard/",
    "/setup/",
    "/inbox/",
    "/inbox/t/{ticket}/",
    "/inbox/sources/",
    "/inbox/quarantine/",
    "/inbox/webhooks/",
    "/investigations/",
    "/investigations/{investigation}/",
    "/investigations/settings/",
    "/playbooks/",
    "/playbooks/{playbook}/",
    "/knowledge/",
    "/knowledge/documents/",
    "/knowledge/documents/{document}/",
    "/knowledge/search/",
    "/knowledge/search/?q=vpn",
    "/knowledge/health/",
    "/knowledge/embeddings/",
    "/knowledge/candidates/",
    "/connectors/",
    "/connectors/{connector}/",
    "/approvals/",
    "/safety/rules/",
    "/safety/connectors/",
    "/safety/connectors/{connector}/",
    "/safety/contacts/",
    "/safety/settings/",
    "/billing/rules/",
    "/audit/",
    "/models/",
    "/models/routes/reply/edit/",
    "/models/providers/new/",
    "/models/providers/{provider}/",
    "/models/calls/",
    "/chat/",
    "/chat/c/{conversation}/",
    "/chat/review/",
    "/chat/widgets/",
    "/chat/widgets/{widget}/",
    "/chat/slack/",
    "/chat/teams/",
    "/settings/",
    "/settings/api-keys/",
    "/accounts/2fa/",
    "/accounts/password/reset/",
]


def _scan_two_factor_setup(s: Scanner, base: str) -> None:
    s.scan(base + "/accounts/2fa/totp/activate/")  # asks for the password again first
    s.page.fill("input[name=password]", PASSWORD)
    s.page.click("main button[type=submit]")
    s.page.wait_for_url("**/accounts/2fa/totp/activate/")
    s.scan_current()  # the QR code and its form


def test_every_page_of_the_shell_as_an_admin(asgi_server: str, scanner: Any, scenery: Scenery) -> None:
    """Alice (Admin of Hartwell) on every page; then no page her pages link to may be left unscanned."""
    base = asgi_server.format(host="hartwell.localhost")
    s = scanner()
    s.sign_in(base + "/", "alice@hartwell.example")
    s.scan(base + "/playbooks/")
    playbook = urlsplit(s.links("[data-testid=playbooks] a[data-testid^=open-]")[0]).path.split("/")[2]
    ids = {**_ids(scenery), "playbook": playbook}
    forms: list[str] = []
    desks: list[str] = []
    for path in ADMIN_PAGES:
        s.scan(base + path.format(**ids))
        if path == "/connectors/":
            forms = s.links("a[href*='/connectors/new/']")
        elif path == "/inbox/sources/":
            desks = s.links("a[href*='/inbox/sources/connect/']")
    assert forms and desks
    for url in forms + desks:
        s.scan(url)
    _scan_two_factor_setup(s, base)
    _assert_clean(s)
    assert not s.unscanned(), f"pages linked from the shell that this test does not scan: {s.unscanned()}"


AGENT_PAGES = [
    "/dashboard/",
    "/inbox/",
    "/inbox/t/{ticket}/",
    "/investigations/",
    "/investigations/{investigation}/",
    "/knowledge/",
    "/connectors/",
    "/approvals/",
    "/models/",
    "/chat/",
    "/chat/c/{conversation}/",
    "/settings/",
]


def test_an_agent_on_a_phone(asgi_server: str, scanner: Any, scenery: Scenery) -> None:
    """Bob (Agent: no admin controls) at 390x844, where the sidebar stacks above the page."""
    base = asgi_server.format(host="hartwell.localhost")
    s = scanner(PHONE)
    s.sign_in(base + "/", "bob@hartwell.example")
    for path in AGENT_PAGES:
        s.scan(base + path.format(**_ids(scenery)))
    _assert_clean(s)


def _error_page_is_whole(s: Scanner) -> None:
    """An error page names itself in one <h1> and offers a way back (the issue's "error pages without <h1>")."""
    if s.page.locator("h1").count() != 1:
        s.found.append(f"{s.page.url}: an error page without one <h1>")
    if s.page.locator("main a[href]").count() == 0:
        s.found.append(f"{s.page.url}: an error page without a link back")


def test_another_clients_admin_and_the_error_pages(asgi_server: str, scanner: Any, scenery: Scenery) -> None:
    """Carol (Admin of Dearborn): her own empty client, then Hartwell's 403, a 404 for Hartwell's ticket and an
    unknown page, and an unknown client's 404."""
    dearborn, hartwell = asgi_server.format(host="dearborn.localhost"), asgi_server.format(host="hartwell.localhost")
    s = scanner()
    s.sign_in(hartwell + "/", "carol@dearborn.example", lands_on="[data-testid=forbidden]")
    s.scan(hartwell + "/settings/", status=403)
    _error_page_is_whole(s)
    s.sign_in(dearborn + "/", "carol@dearborn.example")
    for path in ("/inbox/", "/investigations/", "/knowledge/", "/approvals/", "/chat/", "/settings/"):
        s.scan(dearborn + path)
    s.scan(dearborn + f"/inbox/t/{scenery.ticket.pk}/", status=404)  # Hartwell's ticket does not exist here
    _error_page_is_whole(s)
    s.scan(dearborn + "/no-such-page/", status=404)
    _error_page_is_whole(s)
    s.scan(asgi_server.format(host="nowhere.localhost") + "/", status=404)
    _error_page_is_whole(s)
    _assert_clean(s)


def test_the_msp_portal_and_a_client_in_the_msp_colours(asgi_server: str, scanner: Any, scenery: Scenery) -> None:
    """Mona (MSP staff): the portal and its account pages, then a client's pages in the MSP persona's sky accent."""
    portal = asgi_server.format(host="localhost")
    s = scanner()
    s.sign_in(portal + "/", "mona@bluemesa.example")
    s.scan(portal + "/")
    s.scan(portal + "/accounts/2fa/")
    _scan_two_factor_setup(s, portal)
    s.scan(portal + "/accounts/password/reset/")
    s.scan(portal + "/status/")  # every client's health, for MSP staff (apps/observability)
    s.scan(portal + "/anomalies/")  # the same problem at several clients, for MSP staff (MSP-11)
    s.scan(portal + "/templates/")  # onboarding templates (MSP-8): list, edit and history, a version, apply
    s.scan(portal + "/templates/law-firm/")
    s.scan(portal + "/templates/law-firm/versions/1/")
    s.scan(portal + "/templates/law-firm/apply/?client=hartwell")
    s.scan(portal + "/attention/?kind=quarantine&state=all")  # the attention queue, filtered (apps/portal)
    s.scan(portal + "/costs/?client=hartwell")  # model spend, plans and quotas, for MSP staff (apps/insights)
    s.scan(portal + "/partners/microsoft365/")  # Microsoft 365 partner (GDAP) connect, for MSP staff
    s.scan(portal + "/partners/ninjaone/")  # NinjaOne organizations onto clients, PSA mappings, for MSP staff
    unscanned = s.unscanned(besides={"public:admin:index"})  # Django's own admin is not Gaby's page
    assert not {r for r in unscanned if r.startswith("public:")}, unscanned
    s.page.goto(portal + "/")
    s.page.click("[data-testid=client-hartwell]")  # the signed hand-off: no second sign-in
    s.page.wait_for_selector("[data-testid=sidebar]")
    hartwell = asgi_server.format(host="hartwell.localhost")
    for path in ("/inbox/", "/inbox/t/{ticket}/", "/investigations/{investigation}/", "/chat/", "/settings/"):
        s.scan(hartwell + path.format(**_ids(scenery)))
    _assert_clean(s)


def _serve(response: Any) -> Any:
    return lambda route: route.fulfill(status=response.status_code, body=response.content, content_type="text/html")


def test_signed_out_pages_and_djangos_own_error_pages(asgi_server: str, scanner: Any) -> None:
    from django.core.exceptions import SuspiciousOperation
    from django.test import RequestFactory
    from django.views.defaults import bad_request, server_error

    base = asgi_server.format(host="hartwell.localhost")
    s = scanner()
    s.scan(base + "/accounts/login/")
    s.scan(base + "/accounts/password/reset/")
    s.scan(asgi_server.format(host="localhost") + "/accounts/login/")
    s.scan(base + "/no-such-page/", status=404)
    _error_page_is_whole(s)
    # A 500 or a 400 cannot be caused on purpose: the pages Django's handlers render are served at addresses of the
    # site (Django renders them without the shell: no request for a 500, no middleware's work for a 400).
    request = RequestFactory().get("/")
    for name, response in (
        ("server_error", server_error(request)),
        ("bad_request", bad_request(request, SuspiciousOperation("refused"))),
    ):
        s.context.route(f"**/__{name}__", _serve(response))
        s.scan(base + f"/__{name}__", status=response.status_code)
        _error_page_is_whole(s)
    phone = scanner(PHONE)
    phone.scan(base + "/accounts/login/")
    _assert_clean(s)
    _assert_clean(phone)


def test_the_chat_widget_on_a_customers_site(
    asgi_server: str, scanner: Any, scenery: Scenery, customer_site: HostSite
) -> None:
    """The end user's side: the widget's open panel (in its shadow DOM) on the customer's page."""
    gaby = asgi_server.format(host="hartwell.localhost")
    customer_site.html = (
        '<!doctype html><html lang="en"><head><title>Hartwell Law</title></head><body><main><h1>Hartwell Law</h1>'
        f'<script src="{gaby}/widget.js" data-gaby-key="{scenery.widget.public_key}" async></script>'
        "</main></body></html>"
    ).encode()
    s = scanner()
    s.page.goto(customer_site.origin + "/")
    s.page.click("[data-testid=gaby-launch]")
    s.page.wait_for_selector("[data-testid=gaby-persona]:has-text('Hartwell Helper')")
    s.scan_current()
    _assert_clean(s)
