"""Functions, triggers and views: CREATE OR REPLACE, DROP, and handing objects to the owner."""

from pglast import ast, parse_plpgsql, parse_sql
from pglast.parser import ParseError, scan
from psycopg import sql

from .. import render
from ..hazards import UNTRACKABLE
from .step import Step


def _reads_relations(sql_text: str) -> bool:
    from ..parser import walk
    try:
        return any(type(node).__name__ == "RangeVar" for node in walk(parse_sql(sql_text)))
    except ParseError:
        return True  # what cannot be read cannot be ruled out


def _as_statement(query: str) -> str:
    """A PL/pgSQL query as SQL that parses: a statement stays, an assignment `target := expr`
    becomes its expression, anything else an expression to SELECT."""
    tokens = list(scan(query))
    assign = next((t for t in tokens if t.name == "COLON_EQUALS"), None)
    if assign is not None:
        return f"SELECT {query[assign.end + 1:]}"
    if tokens and query[tokens[0].start:tokens[0].end + 1].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
        return query
    return f"SELECT {query}"


def _plpgsql_queries(tree) -> list[str]:
    """Every SQL text in a parsed PL/pgSQL body (its queries and expressions)."""
    found = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "query" and isinstance(value, str):
                found.append(value)
            else:
                found += _plpgsql_queries(value)
    elif isinstance(tree, list):
        for item in tree:
            found += _plpgsql_queries(item)
    return found


def body_references_relations(definition: str) -> bool:
    """Whether a function's body names tables or views: PostgreSQL does not track those
    dependencies, so the function can break when they change."""
    try:
        stmt = parse_sql(definition)[0].stmt
    except ParseError:
        return True
    if not isinstance(stmt, ast.CreateFunctionStmt):
        return True
    language = next((o.arg.sval for o in stmt.options or () if o.defname == "language"), "sql")
    body = next((o.arg[0].sval for o in stmt.options or () if o.defname == "as"), None)
    if stmt.sql_body is not None:  # BEGIN ATOMIC / RETURN: parsed, and its dependencies tracked
        return False
    if body is None:
        return True
    if language == "sql":
        return _reads_relations(body)
    if language == "plpgsql":
        try:
            tree = parse_plpgsql(definition)
        except (ParseError, Exception):  # noqa: BLE001 - pglast raises plain errors for PL/pgSQL
            return True
        return any(_reads_relations(_as_statement(q)) for q in _plpgsql_queries(tree))
    return True


def create_or_replace(kind: str, obj: dict) -> list[Step]:
    hazards = [UNTRACKABLE] if kind == "function" and body_references_relations(obj["definition"]) else []
    return [Step(f"create or replace {kind} {obj['schema']}.{obj['name']}", sql.SQL(obj["definition"]), hazards)]


def replace_function(old: dict, new: dict) -> list[Step]:
    """A function whose return type changes: CREATE OR REPLACE cannot, so it is dropped and
    created again in one transaction (what depends on it makes PostgreSQL refuse, and says so)."""
    return [Step(f"drop function {old['name']}({old.get('arguments', '')}) to change its return type",
                 render.drop_function(old))] + create_or_replace("function", new)


def drop_function(function: dict) -> list[Step]:
    # Callers that name it in their bodies are not tracked: they break at run time.
    return [Step(f"drop function {function['name']}({function.get('arguments', '')})", render.drop_function(function),
                 [UNTRACKABLE])]


def drop_trigger(trigger: dict) -> list[Step]:
    return [Step(f"drop trigger {trigger['name']} on {trigger['table']}", render.drop_trigger(trigger))]


def drop_view(view: dict) -> list[Step]:
    return [Step(f"drop view {view['schema']}.{view['name']}", render.drop_view(view))]


def change_owner(kind: str, obj: dict) -> Step:
    return Step(f"hand {kind} {obj['schema']}.{obj['name']} over to owner {obj['owner']}",
                render.alter_owner(kind, obj), as_owner=False)
