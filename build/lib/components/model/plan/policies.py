"""Policy plans, and whether a change can widen who sees or writes which rows."""

from pglast import ast, parse_sql
from pglast.enums import BoolExprType
from pglast.parser import ParseError

from .. import render
from ..hazards import AUTHORIZATION, Hazard
from ..parser import deparse
from .step import Step

# What each command covers: FOR ALL is every command.
_COVERS = {"all": {"select", "insert", "update", "delete"}}


def _conjuncts(expression: str | None) -> set[str]:
    """The AND-ed parts of an expression, each as pglast renders it; None means no clause."""
    if expression is None:
        return set()
    try:
        select = parse_sql(f"SELECT 1 WHERE {expression}")[0].stmt
    except ParseError:
        return {expression}
    where = select.whereClause if isinstance(select, ast.SelectStmt) else None
    if isinstance(where, ast.BoolExpr) and where.boolop == BoolExprType.AND_EXPR:
        return {deparse(arg) for arg in where.args or ()}
    return {deparse(where)} if where is not None else {expression}


def _clause_narrower_or_same(old: str | None, new: str | None) -> bool:
    """True when every row `new` lets through, `old` let through too: the new clause is the old
    one with more conditions AND-ed to it. A clause that appears where there was none narrows;
    one that goes away widens."""
    if old == new:
        return True
    if old is None:
        return True
    if new is None:
        return False
    return _conjuncts(old) <= _conjuncts(new)


def widens(old: dict, new: dict) -> bool:
    """Whether the change may let anyone see or write rows it could not before (a restrictive
    policy narrows access by what it lets through, a permissive one widens it)."""
    if old.get("permissive", True) != new.get("permissive", True):
        return True
    roles_old, roles_new = set(old.get("roles", ["public"])), set(new.get("roles", ["public"]))
    covers = lambda p: _COVERS.get(p.get("command", "all"), {p.get("command", "all")})  # noqa: E731
    if not roles_new <= roles_old and "public" not in roles_old:
        return True
    if not covers(new) <= covers(old):
        return True
    return not all(_clause_narrower_or_same(old.get(k), new.get(k)) for k in ("using", "with_check"))


def create_policy(policy: dict) -> list[Step]:
    return [Step(f"create policy {policy['name']} on {policy['table']}", render.create_policy(policy))]


def drop_policy(policy: dict, hazards: list[Hazard] | None = None) -> list[Step]:
    return [Step(f"drop policy {policy['name']} on {policy['table']}", render.drop_policy(policy),
                 [AUTHORIZATION] if hazards is None else hazards)]


def alter_policy(old: dict, new: dict) -> list[Step]:
    hazards = [AUTHORIZATION] if widens(old, new) else []
    # ALTER POLICY cannot change FOR/AS nor remove a USING or WITH CHECK clause: in those cases
    # the policy is dropped and created again, in the same transaction, so no query sees a gap.
    removes_clause = any(old.get(k) and not new.get(k) for k in ("using", "with_check"))
    if old.get("command") != new.get("command") or old.get("permissive") != new.get("permissive") or removes_clause:
        return drop_policy(old, hazards) + create_policy(new)
    return [Step(f"alter policy {new['name']} on {new['table']}", render.alter_policy(new), hazards)]
