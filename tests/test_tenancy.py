"""Each client lives in its own migrated schema, reached by its own subdomain."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tenants.models import Client, Domain
from tenants.services import create_client


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_demo_clients_have_their_own_migrated_schemas(hartwell: Any, dearborn: Any) -> None:
    for client in (hartwell, dearborn):
        tables = _tables(client.schema_name)
        assert {"django_admin_log", "django_content_type", "django_migrations"} <= tables
        # Shared-only tables stay in public: users and memberships are never copied into a client.
        assert "accounts_user" not in tables and "accounts_membership" not in tables
    assert {"accounts_user", "accounts_membership", "tenants_client"} <= _tables("public")


def test_vector_extension_lives_once_in_public(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'vector'"
        )
        assert cursor.fetchall() == [("public",)]


def test_vector_type_is_usable_inside_a_client_schema(hartwell: Any) -> None:
    connection.set_tenant(hartwell)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '[1,2,2]'::vector <=> '[2,4,4]'::vector")
        assert cursor.fetchone()[0] == pytest.approx(0.0)


def test_create_client_creates_schema_domain_and_admin(db: None, people: dict[str, Any]) -> None:
    client = create_client(name="Kestrel Dental", slug="kestrel", admin=people["mona"])
    assert client.schema_name == "kestrel"
    assert "django_admin_log" in _tables("kestrel")
    assert Domain.objects.get(tenant=client).domain == "kestrel.localhost"
    assert client.memberships.get().user == people["mona"]


@pytest.mark.parametrize(
    ("name", "slug", "message"),
    [
        ("", "okslug", "Give the client a name"),
        ("Bad", "Has-Caps", "lowercase letters and digits"),
        ("Bad", "1starts", "starting with a letter"),
        ("Again", "hartwell", "already exists"),
    ],
)
def test_create_client_rejects_bad_input_clearly(db: None, world: Any, name: str, slug: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        create_client(name=name, slug=slug)
    assert not Client.objects.filter(slug=slug).exclude(schema_name="hartwell").exists()


def test_subdomain_routes_to_the_client(as_user: Any) -> None:
    response = as_user("alice", "hartwell").get("/inbox/")
    assert response.status_code == 200
    assert response.context["request"].tenant.schema_name == "hartwell"
    assert b"Hartwell Law" in response.content


def test_unknown_subdomain_is_not_found(as_user: Any) -> None:
    response = as_user("alice", "public").get("/", HTTP_HOST="nosuchclient.localhost")
    assert response.status_code == 404
    body = response.content.decode()
    # Gaby's own page, pointing at the client list rather than back at the unknown host; its CSS is served there.
    assert 'data-testid="unknown-client"' in body and 'href="http://localhost/"' in body
    css = as_user(None, "public").get("/static/css/gaby.css", HTTP_HOST="nosuchclient.localhost")
    assert css.status_code == 200


def test_portal_is_served_on_the_base_domain(as_user: Any) -> None:
    response = as_user("mona", "public").get("/")
    assert response.status_code == 200
    assert response.context["request"].tenant.schema_name == "public"
