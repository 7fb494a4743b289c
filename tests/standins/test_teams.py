"""The Teams stand-in answers as Microsoft documents: token endpoint errors, Bot Connector auth, throttling, 404s,
and OpenID metadata whose keys verify what the emulator signs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jwt
import pytest

from sandbox.teams import BOT_FRAMEWORK_SCOPE, TeamsSandbox
from sandbox.teams_emulator import TeamsEmulator, TeamsUser

APP, SECRET = "6a1f4c3e-0b7d-4c55-9d8e-2f0a1b2c3d4e", "s3cret"


@pytest.fixture
def teams() -> Iterator[TeamsSandbox]:
    with TeamsSandbox({APP: SECRET}, {"u1": {"email": "u1@example.com"}}, rate_limit=2) as sandbox:
        yield sandbox


def _token(teams: TeamsSandbox, **form: str) -> httpx.Response:
    given = {
        "grant_type": "client_credentials",
        "client_id": APP,
        "client_secret": SECRET,
        "scope": BOT_FRAMEWORK_SCOPE,
    }
    return httpx.post(teams.token_url, data={**given, **form})


def test_the_token_endpoint_speaks_entra_id(teams: TeamsSandbox) -> None:
    ok = _token(teams).json()
    assert ok["token_type"] == "Bearer" and ok["expires_in"] == 3599 and ok["access_token"]
    assert _token(teams, client_secret="wrong").json()["error"] == "invalid_client"
    assert _token(teams, client_secret="wrong").status_code == 401
    assert _token(teams, client_id="nobody").json()["error_codes"] == [700016]
    assert _token(teams, scope="https://graph.microsoft.com/.default").json()["error"] == "invalid_scope"
    single_tenant = httpx.post(
        teams.base_url + "/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": APP,
            "client_secret": SECRET,
            "scope": BOT_FRAMEWORK_SCOPE,
        },
    )
    assert single_tenant.status_code == 200


def test_the_connector_needs_a_token_throttles_and_says_what_is_missing(teams: TeamsSandbox) -> None:
    url = f"{teams.service_url}v3/conversations/a:1/activities"
    assert httpx.post(url, json={"type": "message", "text": "x"}).status_code == 401
    auth = {"Authorization": f"Bearer {_token(teams).json()['access_token']}"}
    statuses = [httpx.post(url, json={"type": "message", "text": "x"}, headers=auth).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    throttled = httpx.post(url, json={"type": "message"}, headers=auth)
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    other = f"{teams.service_url}v3/conversations/a:2/activities/nope"
    missing = httpx.put(other, json={"type": "message"}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    member = httpx.get(f"{teams.service_url}v3/conversations/a:1/members/u1", headers=auth).json()
    assert member["email"] == "u1@example.com"
    assert httpx.get(f"{teams.service_url}v3/conversations/a:1/members/u2", headers=auth).status_code == 404


def test_the_published_keys_verify_what_the_emulator_signs(teams: TeamsSandbox) -> None:
    metadata = httpx.get(teams.metadata_url).json()
    assert metadata["issuer"] == "https://api.botframework.com"
    keys = jwt.PyJWKClient(metadata["jwks_uri"])
    token = TeamsEmulator(teams, APP, "t").token()
    claims = jwt.decode(token, keys.get_signing_key_from_jwt(token).key, algorithms=["RS256"], audience=APP)
    assert claims["serviceurl"] == teams.service_url
    assert TeamsUser("x", "X").teams_id == "29:x"
