"""The signed sign-in hand-off between the portal and client domains (where cookies cannot span)."""

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client as HttpClient

from apps.accounts.handoff import SALT


def _accept(location: str) -> tuple[HttpClient, Any]:
    parts = urlsplit(location)
    browser = HttpClient(HTTP_HOST=parts.hostname)
    return browser, browser.get(f"{parts.path}?{parts.query}")


def test_mona_jumps_from_hartwell_to_dearborn_without_signing_in_again(as_user: Any) -> None:
    response = as_user("mona", "hartwell").get("/accounts/handoff/to/dearborn/")
    assert response.status_code == 302
    assert response["Location"].startswith("http://dearborn.localhost/accounts/handoff/accept/?token=")
    browser, accepted = _accept(response["Location"])
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    assert browser.get("/inbox/").status_code == 200


def test_a_hand_off_link_works_once(as_user: Any) -> None:
    location = as_user("mona", "hartwell").get("/accounts/handoff/to/dearborn/")["Location"]
    assert _accept(location)[1].status_code == 302
    _, again = _accept(location)
    assert again.status_code == 400 and b"already used" in again.content


def test_a_link_for_one_client_is_refused_by_another(as_user: Any) -> None:
    location = as_user("mona", "hartwell").get("/accounts/handoff/to/dearborn/")["Location"]
    browser = HttpClient(HTTP_HOST="hartwell.localhost")
    response = browser.get(urlsplit(location).path + "?" + urlsplit(location).query)
    assert response.status_code == 400 and b"made for another Gaby address" in response.content
    assert browser.get("/inbox/").status_code == 302  # still anonymous


def test_non_members_get_no_link(as_user: Any) -> None:
    assert as_user("alice", "hartwell").get("/accounts/handoff/to/dearborn/").status_code == 403
    assert as_user(None, "hartwell").get("/accounts/handoff/to/hartwell/").status_code == 302  # sign in first


def test_tampered_and_expired_links_are_refused(dearborn: Any, monkeypatch: pytest.MonkeyPatch, people: Any) -> None:
    browser = HttpClient(HTTP_HOST="dearborn.localhost")
    response = browser.get("/accounts/handoff/accept/?token=forged")
    assert response.status_code == 400 and b"not valid" in response.content
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 3600)
    old = signing.dumps({"u": str(people["mona"].pk), "c": str(dearborn.pk), "n": "x"}, salt=SALT)
    monkeypatch.undo()
    response = browser.get(f"/accounts/handoff/accept/?token={old}")
    assert response.status_code == 400 and b"expired" in response.content


def test_back_to_the_portal(as_user: Any) -> None:
    location = as_user("bob", "hartwell").get("/accounts/handoff/to/portal/")["Location"]
    assert location.startswith("http://localhost/accounts/handoff/accept/")
    browser, accepted = _accept(location)
    assert accepted.status_code == 302
    assert b"Hartwell Law" in browser.get("/").content
