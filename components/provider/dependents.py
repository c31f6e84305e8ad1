"""What reads a table's columns and stands in the way of changing them: policies and views.

PostgreSQL refuses to change the type of a column a policy or view reads, and to drop one they
read. So the table's plan drops them before such a step and, for a type change, creates them
again right after, in the same transaction: no query sees them missing. Each is recreated from
the catalog exactly as it is, with a view's options, owner, comment and grants.
"""

from collections.abc import Iterator, Mapping

from psycopg import Cursor, sql
from psycopg.rows import dict_row

POLICIES = """
SELECT DISTINCT a.attname AS column_name, p.policyname AS name, p.cmd, p.permissive, p.roles::text[] AS roles,
       p.qual, p.with_check
FROM pg_depend d
JOIN pg_policy pol ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = pol.polname
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.refclassid = 'pg_class'::regclass  -- lets pg_depend's index on the referenced object serve
  AND d.refobjid = to_regclass(format('%%I.%%I', %(schema)s::text, %(table)s::text)) AND d.refobjsubid > 0
"""

VIEWS = """
SELECT DISTINCT a.attname AS column_name, vn.nspname AS schema, v.relname AS name, pg_get_viewdef(v.oid) AS query,
       v.reloptions AS options, obj_description(v.oid, 'pg_class') AS comment,
       pg_get_userbyid(v.relowner) AS owner,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('privilege', x.privilege_type,
                                                   'grantee', CASE x.grantee WHEN 0 THEN NULL
                                                                             ELSE pg_get_userbyid(x.grantee) END)),
                        '[]'::jsonb)
        FROM aclexplode(v.relacl) x WHERE x.grantee <> v.relowner) AS grants
FROM pg_depend d
JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_class v ON v.oid = r.ev_class AND v.oid <> d.refobjid
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.refclassid = 'pg_class'::regclass  -- lets pg_depend's index on the referenced object serve
  AND d.refobjid = to_regclass(format('%%I.%%I', %(schema)s::text, %(table)s::text)) AND d.refobjsubid > 0
"""


def of_table(cur: Cursor, schema: str, table: str) -> dict[str, list[dict]]:
    """Per column: the policies and views that read it, each with the statements that drop it
    and create it again as it is (`drop`, `create`: SQL text, composed here)."""
    conn = cur.connection
    found: dict[str, list[dict]] = {}
    exists = cur.execute("SELECT to_regclass(format('%%I.%%I', %s::text, %s::text))", (schema, table)).fetchone()
    if exists is None or exists[0] is None:  # a table still to create: nothing reads it (and this is cheaper)
        return found
    with conn.cursor(row_factory=dict_row) as rows:
        for row in rows.execute(POLICIES, {"schema": schema, "table": table}).fetchall():
            found.setdefault(row["column_name"], []).append(_policy(conn, schema, table, row))
        for row in rows.execute(VIEWS, {"schema": schema, "table": table}).fetchall():
            found.setdefault(row["column_name"], []).append(_view(conn, row))
    return found


class OnFirstUse(Mapping[str, list[dict]]):
    """`of_table`, read when a plan first asks for a column's dependents. Only a plan that drops
    or retypes a column asks, so the plan of an unchanged table (every preview's) reads nothing."""

    def __init__(self, cur: Cursor, schema: str, table: str):
        self._where = cur, schema, table
        self._found: dict[str, list[dict]] | None = None

    @property
    def read(self) -> bool:
        return self._found is not None

    def _all(self) -> dict[str, list[dict]]:
        if self._found is None:
            self._found = of_table(*self._where)
        return self._found

    def __getitem__(self, column: str) -> list[dict]:
        return self._all()[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __deepcopy__(self, memo: dict) -> "OnFirstUse":
        return self  # read-only (adoption copies the declared table it belongs to)


def _role(name: str | None) -> sql.Composable:
    return sql.SQL("PUBLIC") if name in (None, "public") else sql.Identifier(name)


def _policy(conn, schema: str, table: str, row: dict) -> dict:
    target = sql.Identifier(schema, table)
    create = sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
        sql.Identifier(row["name"]), target, sql.SQL(row["permissive"]), sql.SQL(row["cmd"]),
        sql.SQL(", ").join(_role(r) for r in row["roles"]))
    if row["qual"]:
        create = sql.SQL("{} USING ({})").format(create, sql.SQL(row["qual"]))
    if row["with_check"]:
        create = sql.SQL("{} WITH CHECK ({})").format(create, sql.SQL(row["with_check"]))
    return {"kind": "policy", "name": f"{row['name']} on {table}",
            "drop": sql.SQL("DROP POLICY {} ON {}").format(sql.Identifier(row["name"]), target).as_string(conn),
            "create": [create.as_string(conn)]}


def _view(conn, row: dict) -> dict:
    target = sql.Identifier(row["schema"], row["name"])
    create = sql.SQL("CREATE VIEW {}").format(target)
    if row["options"]:
        create = sql.SQL("{} WITH ({})").format(create, sql.SQL(", ").join(sql.SQL(o) for o in row["options"]))
    statements = [sql.SQL("{} AS {}").format(create, sql.SQL(row["query"].rstrip().rstrip(";"))),
                  sql.SQL("ALTER VIEW {} OWNER TO {}").format(target, sql.Identifier(row["owner"]))]
    if row["comment"] is not None:
        statements.append(sql.SQL("COMMENT ON VIEW {} IS {}").format(target, sql.Literal(row["comment"])))
    statements += [sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(g["privilege"]), target, _role(g["grantee"]))
                   for g in row["grants"]]
    return {"kind": "view", "name": f"{row['schema']}.{row['name']}",
            "drop": sql.SQL("DROP VIEW {}").format(target).as_string(conn),
            "create": [s.as_string(conn) for s in statements]}


VIEW = """
SELECT n.nspname AS schema, v.relname AS name, pg_get_viewdef(v.oid) AS query, v.reloptions AS options,
       obj_description(v.oid, 'pg_class') AS comment, pg_get_userbyid(v.relowner) AS owner,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('privilege', x.privilege_type,
                                                   'grantee', CASE x.grantee WHEN 0 THEN NULL
                                                                             ELSE pg_get_userbyid(x.grantee) END)),
                        '[]'::jsonb)
        FROM aclexplode(v.relacl) x WHERE x.grantee <> v.relowner) AS grants
FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace
WHERE n.nspname = %(schema)s AND v.relname = %(name)s AND v.relkind = 'v'
"""


def view_kept(cur: Cursor, schema: str, name: str) -> list[str]:
    """What a view has besides its query (grants, comment): restored after it is created again."""
    with cur.connection.cursor(row_factory=dict_row) as rows:
        row = rows.execute(VIEW, {"schema": schema, "name": name}).fetchone()
    return [] if row is None else _view(cur.connection, row)["create"][2:]
