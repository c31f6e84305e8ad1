"""Code on a stack table that the stack did not declare (provider/trigger_guard.py finds it): a
trigger runs as whoever writes the table, so the next `up` drops the triggers and revokes the
TRIGGER privileges a table's read reported, before anything else it changes on the table."""

from .. import render
from .step import Step


def remove_foreign_code(table: dict) -> list[Step]:
    """Drop the triggers and revoke the TRIGGER privileges a table's read found undeclared
    (`foreign_triggers`, `trigger_privileges`)."""
    steps = [Step(f"drop trigger {t['name']} on {t['schema']}.{t['table']} (function {t['function']}): the stack "
                  f"does not declare it", render.drop_trigger(t)) for t in table.get("foreign_triggers") or []]
    return steps + [_revoke(g) for g in table.get("trigger_privileges") or []]


def _revoke(grant: dict) -> Step:
    where = f"TRIGGER on {grant['schema']}.{grant['table']} from {grant['role']}"
    why = (f"the grant option of {where}: stack config grants TRIGGER without it" if grant.get("grant_option")
           else f"{where}: stack config does not grant it")
    return Step(f"revoke {why}", render.revoke_trigger(grant))
