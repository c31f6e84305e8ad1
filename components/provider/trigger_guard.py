"""Code the stack did not declare that would run when its tables are written.

A trigger runs as whoever writes the table. A role with TRIGGER on a stack table (or a partition
of one) could attach a function of its own, which would then run with the rights of the deployer
the next time it loads sample data or migrates data (a superuser in dev: `RESET ROLE` inside the
trigger undoes the provider's `SET ROLE`). Stack config never grants TRIGGER without a written
reason (settings/stack.py), and here:

- `refuse_foreign_triggers` runs before any DML the deployer runs (sample data, data migrations:
  both go through sample_data.py): it locks the tables it writes against new triggers, then
  refuses, naming them, if a trigger on them or their partitions is foreign;
- a table's `read` reports its foreign triggers and the TRIGGER privileges stack config does
  not grant (`foreign_triggers`, `trigger_privileges`: catalog.table reads them with the rest of
  the table), which the next `up` removes (plan.remove_foreign_code).

A trigger is foreign when its function belongs to a role that is none of a superuser, the
table's owner or the deploying user; or, on a table the stack creates, when the stack does not
declare it (its name on that table, with that function). A declared trigger is {table, name,
function}, the function schema-qualified as the model spells it (model/objects.py Trigger).
"""

from collections.abc import Iterable

from psycopg import Cursor, sql
from psycopg.rows import dict_row

from .errors import ForeignTriggers

# Each relation of the schema's tables (those named, or all) with the table it belongs to: the
# table itself, or for a partition the root of its tree (a row written through a partitioned
# table fires its partition's triggers).
_RELATIONS = """
WITH relations AS (
    SELECT c.oid, c.relname, c.relowner, c.relacl, root.relname AS root
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_class root ON root.oid = coalesce(pg_partition_root(c.oid), c.oid)
    WHERE n.nspname = %(schema)s AND root.relnamespace = n.oid AND c.relkind IN ('r', 'p')
      AND (%(names)s::name[] IS NULL OR root.relname = ANY(%(names)s::name[]))
)
"""

# Triggers, except foreign keys' internal ones and the copies a partition gets of its parent's
# (judged on the parent, which is among the relations).
TRIGGERS = _RELATIONS + """
SELECT r.root, r.relname AS table, t.tgname AS name, fn.nspname || '.' || f.proname AS function,
       (owner.rolsuper OR f.proowner = r.relowner OR owner.rolname = session_user) AS trusted
FROM relations r JOIN pg_trigger t ON t.tgrelid = r.oid
JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
JOIN pg_roles owner ON owner.oid = f.proowner
WHERE NOT t.tgisinternal AND t.tgparentid = 0
ORDER BY 1, 2, 3
"""

# Roles other than the table's owner holding TRIGGER on it (grantee 0 is PUBLIC), and whether
# they may pass it on (a grant WITH GRANT OPTION, from any grantor).
TRIGGER_GRANTEES = _RELATIONS + """
SELECT r.root, r.relname AS table,
       CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END AS role,
       bool_or(a.is_grantable) AS grantable
FROM relations r CROSS JOIN LATERAL aclexplode(r.relacl) AS a
WHERE a.privilege_type = 'TRIGGER' AND a.grantee <> r.relowner
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""


def code_rows(cur: Cursor, schema: str, names: list[str] | None) -> dict[str, dict[str, list[dict]]]:
    """The triggers and TRIGGER grantees of the schema's tables (those named, or all) and their
    partitions, by table: {table: {"triggers": [...], "grantees": [...]}}."""
    found: dict[str, dict[str, list[dict]]] = {}
    params = {"schema": schema, "names": names}
    with cur.connection.cursor(row_factory=dict_row) as rows:
        for key, query in (("triggers", TRIGGERS), ("grantees", TRIGGER_GRANTEES)):
            for row in rows.execute(query, params):
                found.setdefault(row.pop("root"), {"triggers": [], "grantees": []})[key].append(row)
    return found


def foreign_triggers(schema: str, found: Iterable[dict], declared: list[dict] | None) -> list[dict]:
    """The foreign ones among a table's triggers (`found`, code_rows' rows), as {schema, table,
    name, function}; `declared`: the triggers the stack declares on it, None for a table the
    stack does not create."""
    allowed = {(d["table"], d["name"], d["function"]) for d in declared or []}
    return [{"schema": schema, "table": t["table"], "name": t["name"], "function": t["function"]}
            for t in found if not t["trusted"]
            or (declared is not None and (t["table"], t["name"], t["function"]) not in allowed)]


def foreign_grantees(schema: str, found: Iterable[dict], granted: list[str]) -> list[dict]:
    """The roles holding TRIGGER on a table or its partitions (`found`) that stack config does
    not grant it with a reason (`granted`), as {schema, table, role}; and those it does grant it
    that may pass it on, which stack config never allows, as {schema, table, role, grant_option:
    True}."""
    return [{"schema": schema, "table": g["table"], "role": g["role"]} for g in found if g["role"] not in granted] + [
        {"schema": schema, "table": g["table"], "role": g["role"], "grant_option": True}
        for g in found if g["role"] in granted and g.get("grantable")]


def refuse_foreign_triggers(cur: Cursor, props: dict, what: str) -> None:
    """Before the deployer writes the tables of `props["statements"]`: lock them against new
    triggers (CREATE TRIGGER needs SHARE ROW EXCLUSIVE, which conflicts with the ROW EXCLUSIVE
    taken here and held to COMMIT), then refuse if a trigger on them is foreign. `props`
    carries the triggers the stack declares on them (`triggers`) and the tables among them it
    does not create (`external_tables`)."""
    schema = props["schema"]
    tables = sorted({s["table"] for s in props["statements"]})
    cur.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(
        sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)))
    declared = props.get("triggers") or []
    external = set(props.get("external_tables") or [])
    found = []
    for table, code in code_rows(cur, schema, tables).items():
        found += foreign_triggers(schema, code["triggers"],
                                  None if table in external else [d for d in declared if d["table"] == table])
    if found:
        listed = "; ".join(f"{t['name']} on {t['schema']}.{t['table']} (function {t['function']})" for t in found)
        raise ForeignTriggers(
            f"{what}: refusing to write: the tables have triggers the stack does not declare, which would run "
            f"as the deploying user: {listed}. Nothing was changed. Drop them (`pulumi refresh` then `pulumi up` "
            f"does), and check who holds TRIGGER on these tables.")
