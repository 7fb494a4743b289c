"""What SQL the PostgreSQL connector accepts, decided on PostgreSQL's own parser (pglast / libpg_query).

Reads: SELECT (no INTO, no FOR UPDATE/SHARE, no data-modifying CTE), VALUES, SHOW, EXPLAIN of a read
(EXPLAIN ANALYZE executes, so its statement must itself be a read), and no call to a function that acts
outside the transaction (signalling backends, reading server files, advisory locks...). They also run in
a READ ONLY transaction, so anything the parser check missed is still refused by PostgreSQL.
Writes (only when the connector allows them): exactly one INSERT, UPDATE or DELETE; UPDATE and DELETE
need a WHERE clause.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream
from pglast.visitors import Visitor

# Functions with effects a READ ONLY transaction does not stop, or that reach outside the database.
FORBIDDEN_FUNCTIONS = {
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_notify",
    "set_config",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "dblink",
    "dblink_exec",
    "dblink_connect",
    "query_to_xml",
    "pg_file_write",
}
FORBIDDEN_PREFIXES = ("pg_advisory", "pg_try_advisory", "dblink", "lo_")


class SqlRefused(ValueError):
    """The statement is not allowed here; the message says why and what is allowed."""


@dataclass(frozen=True)
class WritePlan:
    kind: str  # insert | update | delete
    statement: str  # the statement with RETURNING * added when it had none
    before_query: str | None  # SELECT of the rows an UPDATE/DELETE targets, for the dry-run diff


class _Functions(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FuncCall(self, _ancestors: object, node: ast.FuncCall) -> None:  # pglast dispatches by node name
        parts = node.funcname or ()
        if parts:
            self.names.append(str(parts[-1].sval).lower())


def _parse(sql: str) -> tuple[ast.RawStmt, ...]:
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise SqlRefused(f"PostgreSQL cannot parse this statement: {exc}") from None
    if not statements:
        raise SqlRefused("The statement is empty.")
    return tuple(statements)


def _check_functions(node: ast.Node | None) -> None:
    if node is None:
        return
    visitor = _Functions()
    visitor(node)
    for name in visitor.names:
        if name in FORBIDDEN_FUNCTIONS or name.startswith(FORBIDDEN_PREFIXES):
            raise SqlRefused(f"Calling {name}() is not allowed through this connector.")


def _is_read(stmt: ast.Node | None) -> bool:
    if isinstance(stmt, ast.SelectStmt):
        if stmt.intoClause is not None or stmt.lockingClause:
            return False
        for cte in (stmt.withClause.ctes if stmt.withClause else None) or ():
            if not _is_read(cte.ctequery):
                return False
        return all(_is_read(part) for part in (stmt.larg, stmt.rarg) if part is not None)
    if isinstance(stmt, ast.VariableShowStmt):
        return True
    if isinstance(stmt, ast.ExplainStmt):
        return _is_read(stmt.query)
    return False


def check_read_only(sql: str) -> str:
    """Return the one read statement in ``sql``, or raise SqlRefused saying why not."""
    statements = _parse(sql)
    if len(statements) != 1:
        raise SqlRefused(f"Send one statement at a time ({len(statements)} were sent).")
    stmt = statements[0].stmt
    if not _is_read(stmt):
        verb = type(stmt).__name__.removesuffix("Stmt").upper()
        raise SqlRefused(
            f"This connector is read-only: {verb} statements are refused. "
            "Only SELECT, VALUES, SHOW and EXPLAIN of a read are allowed."
        )
    _check_functions(stmt)
    return sql


def _returning_all() -> ast.ReturningClause:
    return ast.ReturningClause(exprs=(ast.ResTarget(val=ast.ColumnRef(fields=(ast.A_Star(),))),))


def plan_write(sql: str) -> WritePlan:
    """Check a write and prepare its dry run: one INSERT/UPDATE/DELETE, with WHERE for UPDATE/DELETE."""
    statements = _parse(sql)
    if len(statements) != 1:
        raise SqlRefused(f"Send one write statement at a time ({len(statements)} were sent).")
    stmt = statements[0].stmt
    if not isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        raise SqlRefused("Only one INSERT, UPDATE or DELETE is accepted as a write (no DDL, no COPY, no GRANT).")
    if stmt.withClause is not None:
        raise SqlRefused("WITH clauses are not accepted in writes; write the statement without them.")
    _check_functions(stmt)
    kind = type(stmt).__name__.removesuffix("Stmt").lower()
    before_query = None
    if isinstance(stmt, ast.UpdateStmt | ast.DeleteStmt):
        if stmt.whereClause is None:
            raise SqlRefused(f"{kind.upper()} without WHERE would touch every row; add a WHERE clause.")
        joined = stmt.fromClause if isinstance(stmt, ast.UpdateStmt) else stmt.usingClause
        if not joined:
            select = ast.SelectStmt(
                targetList=(ast.ResTarget(val=ast.ColumnRef(fields=(ast.A_Star(),))),),
                fromClause=(stmt.relation,),
                whereClause=stmt.whereClause,
            )
            before_query = RawStream()(select)
    if stmt.returningClause is None:
        stmt.returningClause = _returning_all()
    return WritePlan(kind=kind, statement=RawStream()(stmt), before_query=before_query)
