"""The Django admin signs in through allauth only: its failed-attempt limit and two-factor apply (issue 18, item 3)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client as HttpClient

from apps.accounts.models import User
from tests.conftest import PASSWORD


def _admin_login(browser: HttpClient, email: str, password: str) -> Any:
    return browser.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})


def test_the_admin_login_form_is_not_a_way_in(world: Any, db: None) -> None:
    browser = HttpClient(HTTP_HOST="localhost")
    page = browser.get("/admin/login/?next=/admin/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/?next=")
    # The right password posted to the admin's own form signs nobody in.
    assert _admin_login(browser, "mona@bluemesa.example", PASSWORD)["Location"].startswith("/accounts/login/")
    assert browser.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_totp_user_reaches_the_admin_only_after_the_code(people: dict[str, Any], settings: Any) -> None:
    mona = people["mona"]
    mona.is_staff = True  # an MSP staff member the install lets into the Django admin
    mona.save(update_fields=["is_staff"])
    secret = generate_totp_secret()
    TOTP.activate(mona, secret)
    browser = HttpClient(HTTP_HOST="localhost")
    assert _admin_login(browser, mona.email, PASSWORD)["Location"].startswith("/accounts/login/")
    signed = browser.post("/accounts/login/?next=/admin/", {"login": mona.email, "password": PASSWORD})
    assert signed["Location"] == "/accounts/2fa/authenticate/"
    assert browser.get("/admin/")["Location"].startswith("/admin/login/")  # the password alone is not enough
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    assert browser.post("/accounts/2fa/authenticate/", {"code": code})["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_failed_sign_ins_are_limited_per_account(world: Any, db: None) -> None:
    # A fresh account: the limit lives in the cache for minutes and must not lock out the personas other tests use.
    email = f"staff-{uuid.uuid4().hex[:8]}@bluemesa.example"
    User.objects.create_user(email=email, password=PASSWORD, is_staff=True)
    browser = HttpClient(HTTP_HOST="localhost", REMOTE_ADDR="198.51.100.7")
    for _ in range(5):
        wrong = browser.post("/accounts/login/", {"login": email, "password": "guess-again-1"})
        assert wrong.status_code == 200
    # Once the limit is reached even the right password is refused for a while: guessing cannot go on.
    blocked = browser.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert blocked.status_code in (200, 429) and b"Too many failed login attempts" in blocked.content
    assert browser.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_signed_in_member_who_is_not_staff_is_refused_the_admin(as_user: Any) -> None:
    alice = as_user("alice", "public")  # a client's Admin, not MSP staff
    assert alice.get("/admin/login/").status_code == 403
