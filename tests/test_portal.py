"""The MSP portal lists a user's clients and lets MSP staff onboard new ones."""

from typing import Any

from tenants.models import Client


def test_mona_sees_both_clients_with_links_to_their_subdomains(as_user: Any) -> None:
    body = as_user("mona", "public").get("/").content.decode()
    # *.localhost cannot share a cookie, so links go through the signed sign-in hand-off.
    assert 'href="/accounts/handoff/to/hartwell/"' in body and 'href="/accounts/handoff/to/dearborn/"' in body
    assert 'data-testid="new-client-form"' in body


def test_alice_sees_only_her_client_and_cannot_onboard(as_user: Any) -> None:
    alice = as_user("alice", "public")
    body = alice.get("/").content.decode()
    assert "Hartwell Law" in body and "Dearborn CPA" not in body
    assert "new-client-form" not in body
    assert alice.post("/clients/new/", {"name": "Sneaky", "slug": "sneaky"}).status_code == 403
    assert not Client.objects.filter(slug="sneaky").exists()


def test_client_switcher_lists_every_client_of_the_user(as_user: Any) -> None:
    body = as_user("mona", "hartwell").get("/inbox/").content.decode()
    assert 'data-testid="switch-dearborn"' in body and 'data-testid="switch-portal"' in body


def test_msp_staff_onboards_a_client_from_the_portal(as_user: Any) -> None:
    mona = as_user("mona", "public")
    response = mona.post("/clients/new/", {"name": "Osprey Clinic", "slug": "osprey"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"Osprey Clinic is ready" in response.content
    assert b'class="sparkline"' in response.content  # the re-drawn client list keeps each client's card figures
    client = Client.objects.get(slug="osprey")
    assert client.memberships.get().user.email == "mona@bluemesa.example"
    assert as_user("mona", "public").get("/inbox/", HTTP_HOST="osprey.localhost").status_code == 200


def test_onboarding_errors_say_what_to_fix(as_user: Any) -> None:
    response = as_user("mona", "public").post("/clients/new/", {"name": "Dup", "slug": "hartwell"})
    assert response.status_code == 400
    assert b"already exists: pick another" in response.content
    assert b'data-testid="attention"' in response.content  # a failed plain post still shows the whole page


def test_anonymous_portal_visitor_is_sent_to_sign_in(as_user: Any) -> None:
    response = as_user(None, "public").get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
