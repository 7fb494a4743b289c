"""The first-party PostgreSQL connector against the real embedded server: read-only, dry runs, limits."""

from __future__ import annotations

import json
import logging
from typing import Any

import psycopg
import pytest

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Kind
from apps.connectors.servers.postgres.sql import SqlRefused, check_read_only, plan_write
from apps.connectors.specs import Draft
from tests.connectors.conftest import _sample_db, _url


def _rows(where: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(_url(_sample_db())) as db:
        return db.execute(f"SELECT id, plan FROM customers WHERE {where} ORDER BY id").fetchall()


def _connect(client: Any, actor: Any, url: str, **settings: Any) -> Any:
    draft = Draft(kind=Kind.POSTGRES, name="Billing DB", settings={"url": url, **settings})
    return services.connect(client=client, draft=draft, actor=actor)


def _call(connector: Any, tool: str, **arguments: Any) -> Any:
    return services.execute_tool_call(connector=connector, tool_name=tool, arguments=arguments, actor=None)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select * from customers where id = $1",
        "VALUES (1)",
        "SHOW search_path",
        "EXPLAIN SELECT 1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
    ],
)
def test_reads_pass_the_parser(sql: str) -> None:
    assert check_read_only(sql) == sql


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DELETE FROM customers", "read-only: DELETE"),
        ("SELECT 1; DROP TABLE customers", "one statement at a time"),
        ("SELECT * INTO copy FROM customers", "read-only"),
        ("SELECT * FROM customers FOR UPDATE", "read-only"),
        ("WITH gone AS (DELETE FROM customers RETURNING *) SELECT * FROM gone", "read-only"),
        ("EXPLAIN ANALYZE DELETE FROM customers", "read-only"),
        ("SELECT pg_terminate_backend(42)", "pg_terminate_backend"),
        ("SELECT pg_advisory_lock(1)", "pg_advisory_lock"),
        ("COPY customers TO '/tmp/x'", "read-only"),
        ("SELEC 1", "cannot parse"),
    ],
)
def test_non_reads_are_refused_by_the_parser(sql: str, why: str) -> None:
    with pytest.raises(SqlRefused, match=why):
        check_read_only(sql)


def test_writes_need_where_and_get_returning() -> None:
    with pytest.raises(SqlRefused, match="without WHERE"):
        plan_write("UPDATE customers SET plan = 'pro'")
    with pytest.raises(SqlRefused, match="Only one INSERT, UPDATE or DELETE"):
        plan_write("DROP TABLE customers")
    plan = plan_write("UPDATE customers SET plan = 'pro' WHERE id = 3")
    assert plan.statement.endswith("RETURNING *") and plan.before_query == "SELECT * FROM customers WHERE id = 3"


def test_read_only_connector(in_hartwell: Any, people: dict[str, Any], sample_url: str) -> None:
    connector = _connect(in_hartwell, people["alice"], sample_url, row_cap=50)
    access = dict(connector.tools.values_list("name", "access"))
    assert access == {"query": Access.READ, "list_tables": Access.READ, "describe_table": Access.READ}

    rows = json.loads(_call(connector, "query", sql="SELECT id, plan FROM customers WHERE id = $1", params=[2]).text)
    assert rows["rows"] == [[2, "pro"]]
    capped = json.loads(_call(connector, "query", sql="SELECT * FROM customers").text)
    assert capped["row_count"] == 50 and capped["truncated"] is True

    refused = _call(connector, "query", sql="DELETE FROM customers WHERE id = 1")
    assert refused.is_error and "read-only: DELETE statements are refused" in refused.text
    assert _rows("id = 1") == [(1, "free")]
    # Even a function that writes, which the parser cannot know, is stopped by the READ ONLY transaction.
    sneaky = _call(connector, "query", sql="SELECT nextval('x_seq')")
    assert sneaky.is_error

    tables = json.loads(_call(connector, "list_tables").text)
    assert tables["rows"][0][:2] == ["customers", "table"]


def test_statement_timeout(in_hartwell: Any, people: dict[str, Any], sample_url: str) -> None:
    connector = _connect(in_hartwell, people["alice"], sample_url, statement_timeout_ms=200)
    slow = _call(connector, "query", sql="SELECT pg_sleep(2)")
    assert slow.is_error and "statement timeout" in slow.text


def test_dry_run_update_returns_the_diff_and_changes_nothing(
    in_hartwell: Any, people: dict[str, Any], sample_url: str
) -> None:
    connector = _connect(in_hartwell, people["alice"], sample_url, allow_writes=True, max_write_rows=10)
    assert connector.tools.get(name="execute_write").access == Access.WRITE
    dry = json.loads(
        _call(connector, "execute_write", sql="UPDATE customers SET plan = 'enterprise' WHERE id IN (1, 2)").text
    )
    assert dry["dry_run"] is True and dry["committed"] is False and dry["rows_affected"] == 2
    assert sorted(row[2] for row in dry["before"]["rows"]) == ["free", "pro"]
    assert [row[2] for row in dry["after"]["rows"]] == ["enterprise", "enterprise"]
    assert _rows("id IN (1, 2)") == [(1, "free"), (2, "pro")]

    too_many = _call(connector, "execute_write", sql="UPDATE customers SET plan = 'x' WHERE id > 0", dry_run=False)
    assert too_many.is_error and "would change 500 rows" in too_many.text
    assert _rows("plan = 'x'") == []

    done = json.loads(
        _call(
            connector, "execute_write", sql="UPDATE customers SET plan = 'pro' WHERE id = $1", params=[3], dry_run=False
        ).text
    )
    assert done["committed"] is True and _rows("id = 3") == [(3, "pro")]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://gaby:s3cret PW@127.0.0.1:9/none",
        "postgresql://gaby:s3cret%zzPW@127.0.0.1:9/none",
        "postgresql://gaby:s3cretPW@[127.0.0.1:9/none",
        "postgresql://gaby@127.0.0.1:9/none?password=s3cret%zzPW",
    ],
)
def test_connection_errors_never_echo_the_password(
    in_hartwell: Any, people: dict[str, Any], url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """libpq quotes the part of a malformed URL it cannot parse; that error reaches the logs and the page."""
    draft = Draft(kind=Kind.POSTGRES, name="Billing DB", settings={"url": url})
    with caplog.at_level(logging.INFO), pytest.raises(ConnectorUnavailable, match="Cannot connect to PostgreSQL"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["alice"])
    logged = [record.getMessage() for record in caplog.records]
    assert any("Cannot connect to PostgreSQL" in line for line in logged)  # the server's stderr was logged...
    assert not any("s3cret" in line for line in [*logged, caplog.text])  # ...without the password
