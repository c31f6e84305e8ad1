"""Apply the stack's whole schema to a scratch database; stop at the first statement PostgreSQL
rejects, with its file:line.

Every statement runs in the session the provider would give it (search path, SET ROLE to the
owner), in transactions of BATCH statements, with function bodies checked at CREATE
(check_function_bodies). Nothing touches the target database: the scratch one is dropped
afterwards.

One exception is only noted, not raised: a statement that uses a table outside the stack
(external_tables) and names a column the stand-in does not have. The stand-in knows only the
columns the stack's foreign keys reference, so PostgreSQL cannot tell whether the column exists
on the target.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import errors, sql

from ...model.parser import walk
from ...settings import ConfigError, StackSettings, Validation
from ..loading import LoadedStack
from . import remembered
from .errors import ValidationFailed, server_version
from .scratch import scratch_database, server_identity, validation_server
from .statements import Statement, external_tables, stack_statements, stand_in_roles

# Statements per transaction: each object created holds its locks until COMMIT, and one
# transaction for a schema of thousands of tables runs out of lock slots
# (max_locks_per_transaction: 64 per connection by default, shared by the whole server).
BATCH = 200


@dataclass
class Report:
    statements: int = 0
    seconds: float = 0.0
    server: str = ""  # "PostgreSQL 18.6 (embedded)"
    notes: list[str] = field(default_factory=list)  # what could not be checked, as warnings


def validate_stack(settings: StackSettings, stack: LoadedStack, get: Callable[[str], Any],
                   today: date | None = None) -> Report | None:
    """Raise ValidationFailed if PostgreSQL rejects any of the stack's SQL; None when
    `pgstack:validation` is off. `get` reads a config key (without the namespace)."""
    validation = settings.validation
    if validation.mode == "off":
        return None
    check_skip_extensions(validation, stack)
    password = server_password(validation, get)
    started = time.perf_counter()
    statements = stack_statements(settings, stack, today)
    external = set(external_tables(stack))
    roles = stand_in_roles(settings)
    digest = remembered.digest(statements, roles, settings.owner_role, external, validation,
                               server_identity(validation, password)) if validation.cache else None
    earlier = remembered.recall(digest) if digest else None
    if earlier is not None:
        report = Report(earlier["statements"], server=f"{earlier['server']}, remembered from an earlier run of the "
                        "same statements", notes=earlier["notes"])
    else:
        with validation_server(validation, password) as server, scratch_database(server, roles) as database:
            report = apply(database, statements, settings.owner_role, external)
        report.server += f" ({validation.mode})"
        if digest:
            remembered.remember(digest, {"statements": report.statements, "server": report.server,
                                         "notes": report.notes})
    report.seconds = time.perf_counter() - started
    return report


def check_skip_extensions(validation: Validation, stack: LoadedStack) -> None:
    declared = {e.name for m in stack.modules for e in m.module.extensions}
    for j, name in enumerate(validation.skip_extensions):
        if name not in declared:
            raise ConfigError(f"validation.skip_extensions[{j}]", f"no module declares extension {name} "
                              f"(declared: {', '.join(sorted(declared)) or 'none'})")


def server_password(validation: Validation, get: Callable[[str], Any]) -> str | None:
    key = validation.password_key
    if validation.mode != "server" or key is None:
        return None
    password = get(key)
    if not password:
        raise ConfigError(key, "holds the password of the validation server (validation.password) and is not "
                               f"set; set it with `pulumi config set --secret pgstack:{key}`")
    return str(password)


def apply(database: dict, statements: list[Statement], owner: str, external: set[tuple[str, str]]) -> Report:
    report = Report(statements=len(statements))
    with psycopg.connect(**database) as conn, conn.cursor() as cur:
        report.server = f"PostgreSQL {server_version(conn)}"
        cur.execute("SET check_function_bodies = on")  # PL/pgSQL and SQL bodies checked at CREATE
        session = None
        for number, statement in enumerate(statements, 1):
            if number % BATCH == 0:
                conn.commit()  # the scratch database is dropped afterwards: nothing is kept
            if (statement.schema, statement.as_owner) != session:
                _session(cur, statement, owner)
                session = (statement.schema, statement.as_owner)
            try:
                query = sql.Composed([statement.step.statement])
                if external or statement.expressions:  # a savepoint: the transaction stays usable
                    with conn.transaction():
                        cur.execute(query)
                else:
                    cur.execute(query)
            except psycopg.Error as exc:
                text = statement.step.statement.as_string(conn)
                if isinstance(exc, errors.UndefinedColumn) and uses_table(text, statement.schema, external):
                    report.notes.append(f"{statement.source}: {statement.step.description}: not validated: "
                                        f"{exc.diag.message_primary} (it uses a table outside the stack, whose "
                                        f"columns the scratch database does not know)")
                    continue
                position = locate(conn, statement, text, exc.sqlstate)
                raise ValidationFailed(statement.source, statement.step.description, text, exc, server_version(conn),
                                       position) from None
        conn.rollback()
    return report


def locate(conn: psycopg.Connection, statement: Statement, text: str, sqlstate: str | None) -> int | None:
    """Where in `text` a policy's expression fails. CREATE POLICY parses its expressions without
    the statement's text, so PostgreSQL gives no position; the same expression in a query over
    the table does, when the problem is in the expression itself (not a rule of policies)."""
    if statement.table is None:
        return None
    select = sql.SQL("SELECT FROM {} WHERE ").format(sql.Identifier(*statement.table))
    start = len(select.as_string(conn))
    for clause, expression in statement.expressions:
        where = text.find(f"{clause} ({expression})")  # as render.create_policy writes it
        if where < 0:
            continue
        try:
            with conn.transaction():
                conn.execute(sql.Composed([select, sql.SQL(expression)]))
        except psycopg.Error as exc:
            position = exc.diag.statement_position
            if exc.sqlstate == sqlstate and position and position.isdigit() and int(position) > start:
                return where + len(clause) + 2 + int(position) - start
    return None


def _session(cur: psycopg.Cursor, statement: Statement, owner: str) -> None:
    """As the provider's session (provider/base.py): its search path, then SET ROLE."""
    cur.execute("RESET ROLE")
    if statement.schema:
        cur.execute(sql.SQL("SET search_path TO {}, public, extensions").format(sql.Identifier(statement.schema)))
    else:
        cur.execute("RESET search_path")
    if statement.as_owner:
        cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))


def uses_table(text: str, schema: str | None, tables: set[tuple[str, str]]) -> bool:
    """Whether the statement names one of `tables` (an unqualified name as the search path
    `schema, public` finds it)."""
    if not tables:
        return False
    try:
        parsed = [raw.stmt for raw in parse_sql(text)]
    except ParseError:
        return False
    for node in walk(parsed):
        if isinstance(node, ast.RangeVar):
            candidates = [node.schemaname] if node.schemaname else [schema or "public", "public"]
            if any((s, node.relname) in tables for s in candidates):
                return True
    return False
