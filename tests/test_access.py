"""GOV-2: membership and roles gate every client page, over HTTP."""

import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import Membership, Role

CLIENT_PAGES = [
    "/inbox/",
    "/investigations/",
    "/playbooks/",
    "/knowledge/",
    "/connectors/",
    "/approvals/",
    "/models/",
    "/chat/",
    "/settings/",
    "/investigations/settings/",
]


def _tenant_paths(membership_id: str) -> list[str]:
    """Every route of the client URLconf, with ids filled in, except the self-guarded prefixes."""
    paths: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not getattr(pattern.callback, "gaby_public", False):
                # (Views marked @public_view, like the chat widget's script, are open to anyone by design.)
                # Fill every converter: the access middleware must refuse before any view looks the id up.
                filled = re.sub(r"<uuid:\w+>", membership_id, route.replace("<uuid:membership_id>", membership_id))
                paths.append("/" + re.sub(r"<(?:slug|str):\w+>", "x", filled))

    walk(get_resolver("gaby_site.urls_tenant").url_patterns, "")
    # /api/ authenticates through django-ninja (gaby_site/api.py); tests/tickets covers its ownership.
    return [p for p in paths if not p.startswith(("/accounts/", "/admin/", "/api/"))]


def test_every_client_route_is_covered_by_the_walk() -> None:
    paths = _tenant_paths("00000000-0000-0000-0000-000000000000")
    assert set(CLIENT_PAGES) <= set(paths)
    assert "/settings/members/" in paths


def test_carol_gets_403_on_every_hartwell_url(as_user: Any, hartwell: Any) -> None:
    alice_membership = Membership.objects.get(client=hartwell, user__email="alice@hartwell.example")
    carol = as_user("carol", "hartwell")
    for path in _tenant_paths(str(alice_membership.pk)):
        assert carol.get(path).status_code == 403, path
        assert carol.post(path, {"role": "viewer", "email": "x@y.z", "name": "X"}).status_code == 403, path
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.ADMIN


def test_anonymous_is_sent_to_sign_in(as_user: Any) -> None:
    for path in CLIENT_PAGES:
        response = as_user(None, "hartwell").get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_members_reach_every_page_with_the_shell(as_user: Any) -> None:
    bob = as_user("bob", "hartwell")
    for path in CLIENT_PAGES:
        response = bob.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        assert 'data-testid="sidebar"' in body
        assert re.search(r"<title>[^<]+</title>", body), f"{path}: the title holds markup"
        for label in ("Inbox", "Investigations", "Playbooks", "Knowledge", "Connectors", "Approvals", "Chat"):
            assert f">{label}</a>" in body


@pytest.mark.parametrize(
    ("path", "lit"),
    [
        ("/approvals/", "approvals"),
        ("/audit/", "settings"),
        ("/safety/settings/", "settings"),
        ("/safety/rules/", "settings"),
        ("/investigations/settings/", "settings"),
        ("/investigations/", "investigations"),
        ("/settings/api-keys/", "settings"),
        ("/inbox/webhooks/", "settings"),
        ("/chat/widgets/", "settings"),
        ("/chat/", "chat"),
        ("/playbooks/", "playbooks"),
    ],
)
def test_the_sidebar_lights_the_section_a_page_belongs_to(as_user: Any, path: str, lit: str) -> None:
    body = as_user("alice", "hartwell").get(path).content.decode()
    active = re.findall(r'class="nav-item active"[^>]*data-testid="nav-([a-z]+)"', body)
    assert active == [lit], path


def test_settings_lead_to_every_setting(as_user: Any) -> None:
    body = as_user("alice", "hartwell").get("/settings/").content.decode()
    for name in (
        "safety",
        "rules",
        "scopes",
        "contacts",
        "investigations",
        "sources",
        "webhooks",
        "widgets",
        "apikeys",
    ):
        href = re.search(rf'<a href="([^"]+)" data-testid="settings-link-{name}"', body)
        assert href is not None, name
        assert as_user("alice", "hartwell").get(href.group(1)).status_code == 200, href.group(1)


def test_viewer_reads_but_never_writes(as_user: Any, hartwell: Any, people: dict[str, Any]) -> None:
    Membership.objects.filter(user=people["bob"], client=hartwell).update(role=Role.VIEWER)
    bob = as_user("bob", "hartwell")
    assert bob.get("/settings/").status_code == 200
    response = bob.post("/settings/client/", {"name": "Renamed", "autonomy": "auto", "time_zone": "UTC"})
    assert response.status_code == 403
    assert b"needs the Admin role; you are Viewer of Hartwell Law" in response.content
    hartwell.refresh_from_db()
    assert hartwell.name == "Hartwell Law"


def test_agent_cannot_change_admin_settings(as_user: Any, hartwell: Any) -> None:
    response = as_user("bob", "hartwell").post("/settings/members/", {"email": "eve@x.example", "role": "admin"})
    assert response.status_code == 403
    assert not Membership.objects.filter(client=hartwell, user__email="eve@x.example").exists()


def test_admin_manages_members_and_new_people_get_a_password_link(
    as_user: Any, hartwell: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    alice = as_user("alice", "hartwell")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post(
            "/settings/members/", {"email": "Eve@Hartwell.example", "role": "viewer"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    assert b"eve@hartwell.example" in response.content
    membership = Membership.objects.get(client=hartwell, user__email="eve@hartwell.example")
    assert membership.role == Role.VIEWER
    assert len(mailoutbox) == 1 and "http://hartwell.localhost/accounts/password/reset/key/" in mailoutbox[0].body

    assert alice.post(f"/settings/members/{membership.pk}/role/", {"role": "agent"}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.AGENT
    assert alice.post(f"/settings/members/{membership.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_bad_member_input_says_what_to_fix(as_user: Any) -> None:
    response = as_user("alice", "hartwell").post("/settings/members/", {"email": "not-an-email", "role": "admin"})
    assert response.status_code == 400
    assert b"Enter a valid email address" in response.content


def test_the_last_admin_cannot_be_demoted(as_user: Any, hartwell: Any, people: dict[str, Any]) -> None:
    Membership.objects.filter(client=hartwell, role=Role.ADMIN).exclude(user=people["alice"]).update(role=Role.AGENT)
    alice_membership = Membership.objects.get(client=hartwell, user=people["alice"])
    response = as_user("alice", "hartwell").post(f"/settings/members/{alice_membership.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.ADMIN


def test_another_clients_membership_is_not_found_through_this_client(as_user: Any, dearborn: Any) -> None:
    carol_membership = Membership.objects.get(client=dearborn, user__email="carol@dearborn.example")
    mona = as_user("mona", "hartwell")  # Admin of both, but acting on Hartwell's domain
    assert mona.post(f"/settings/members/{carol_membership.pk}/role/", {"role": "viewer"}).status_code == 404
    carol_membership.refresh_from_db()
    assert carol_membership.role == Role.ADMIN


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", None])
def test_a_client_domain_has_no_django_admin(as_user: Any, persona: str | None) -> None:
    """A client's Admins edit configuration on the client's own pages (roles checked, audited); the Django admin is
    the MSP staff's, on the portal only."""
    browser = as_user(persona, "hartwell")
    assert browser.get("/admin/").status_code == 404
    assert browser.get("/admin/login/").status_code == 404


def test_portal_admin_site_needs_staff(as_user: Any) -> None:
    assert as_user("alice", "public").get("/admin/").status_code == 302
    admin = as_user(None, "public")
    from apps.accounts.models import User

    admin.force_login(User.objects.create_superuser("root@gaby.example", "x" * 12))
    assert admin.get("/admin/").status_code == 200


def test_writes_need_at_least_agent_even_on_views_that_declare_nothing() -> None:
    from apps.accounts.access import required_role

    def plain_view() -> None: ...

    assert required_role(plain_view, "GET") == Role.VIEWER
    assert required_role(plain_view, "POST") == Role.AGENT
    assert required_role(plain_view, "DELETE") == Role.AGENT
    plain_view.gaby_required_role = Role.ADMIN  # type: ignore[attr-defined]
    assert required_role(plain_view, "GET") == Role.ADMIN


def test_an_invited_member_can_turn_on_two_factor(
    as_user: Any, hartwell: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    """The invite's password link proves the address: the new member is not refused 2FA as unverified."""
    import re
    import time

    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.test import Client as HttpClient

    with django_capture_on_commit_callbacks(execute=True):
        as_user("alice", "hartwell").post("/settings/members/", {"email": "eve@hartwell.example", "role": "agent"})
    link = re.search(r"http://hartwell\.localhost(/accounts/password/reset/key/\S+)", mailoutbox[0].body)
    assert link
    eve = HttpClient(HTTP_HOST="hartwell.localhost")
    form = eve.get(link.group(1), follow=True)
    action = form.redirect_chain[-1][0] if form.redirect_chain else link.group(1)
    passphrase = "eve-chooses-a-long-passphrase"
    assert eve.post(action, {"password1": passphrase, "password2": passphrase}).status_code == 302
    assert eve.post("/accounts/login/", {"login": "eve@hartwell.example", "password": passphrase}).status_code == 302
    assert eve.post("/accounts/reauthenticate/", {"password": passphrase}).status_code == 302
    page = eve.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    done = eve.post("/accounts/2fa/totp/activate/", {"code": code})
    assert done.status_code == 302, done.content.decode()[:2000]
    assert Authenticator.objects.filter(user__email="eve@hartwell.example", type="totp").exists()
