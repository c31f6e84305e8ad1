"""Canonical DDL for each object, composed with psycopg's sql module from the object's inputs.

Identifiers always go through sql.Identifier and text values through sql.Literal. Expressions,
types and function/trigger/view definitions are SQL text that pglast rendered from the parsed
file (or the catalog rendered, for drifted parts), so they are passed through as sql.SQL.
"""

from psycopg import sql


def qualified(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def identifiers(names: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def column_definition(column: dict) -> sql.Composable:
    parts = [sql.Identifier(column["name"]), sql.SQL(column["type"])]
    if column.get("identity"):
        parts.append(sql.SQL("GENERATED {} AS IDENTITY").format(sql.SQL(column["identity"].upper())))
    if column.get("default") is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column["default"])))
    if column.get("not_null"):
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def constraint_body(constraint: dict) -> sql.Composable:
    """The constraint after `CONSTRAINT name`. A drifted constraint read back from the catalog
    carries only `definition` (pg_get_constraintdef), which is used as is."""
    kind = constraint.get("kind")
    if kind == "primary_key":
        return sql.SQL("PRIMARY KEY ({})").format(identifiers(constraint["columns"]))
    if kind == "unique":
        return sql.SQL("UNIQUE ({})").format(identifiers(constraint["columns"]))
    if kind == "check":
        return sql.SQL("CHECK ({})").format(sql.SQL(constraint["expression"]))
    if kind == "foreign_key":
        ref = constraint["references"]
        body = sql.SQL("FOREIGN KEY ({}) REFERENCES {} ({})").format(
            identifiers(constraint["columns"]), qualified(ref["schema"], ref["table"]), identifiers(ref["columns"]))
        for clause, action in (("ON DELETE", constraint.get("on_delete")), ("ON UPDATE", constraint.get("on_update"))):
            if action:
                body = sql.SQL("{} {} {}").format(body, sql.SQL(clause), sql.SQL(action.upper()))
        return body
    return sql.SQL(constraint["definition"])


def constraint_definition(constraint: dict) -> sql.Composable:
    return sql.SQL("CONSTRAINT {} {}").format(sql.Identifier(constraint["name"]), constraint_body(constraint))


def create_table(table: dict) -> sql.Composable:
    elements = [column_definition(c) for c in table.get("columns", [])]
    elements += [constraint_definition(c) for c in table.get("constraints", [])]
    query = sql.SQL("CREATE TABLE {} ({})").format(
        qualified(table["schema"], table["name"]), sql.SQL(", ").join(elements))
    if table.get("partition_by"):
        query = sql.SQL("{} PARTITION BY {}").format(query, sql.SQL(table["partition_by"]))
    return query


def alter_table(table: dict, action: sql.Composable) -> sql.Composable:
    return sql.SQL("ALTER TABLE {} {}").format(qualified(table["schema"], table["name"]), action)


def comment_on_table(table: dict, comment: str | None) -> sql.Composable:
    return sql.SQL("COMMENT ON TABLE {} IS {}").format(qualified(table["schema"], table["name"]), sql.Literal(comment))


def comment_on_column(table: dict, column: str, comment: str | None) -> sql.Composable:
    return sql.SQL("COMMENT ON COLUMN {} IS {}").format(
        sql.Identifier(table["schema"], table["name"], column), sql.Literal(comment))


def index_element(element: dict) -> sql.Composable:
    parts: list[sql.Composable]
    if element.get("column"):
        parts = [sql.Identifier(element["column"])]
    else:
        parts = [sql.SQL("({})").format(sql.SQL(element["expression"]))]
    if element.get("opclass"):
        parts.append(sql.Identifier(*element["opclass"].split(".")))
    if element.get("order"):
        parts.append(sql.SQL(element["order"]))
    if element.get("nulls"):
        parts.append(sql.SQL("NULLS {}").format(sql.SQL(element["nulls"])))
    return sql.SQL(" ").join(parts)


def create_index(index: dict, concurrently: bool = False, only: bool = False,
                 if_not_exists: bool = False) -> sql.Composable:
    """`only`: on a partitioned table itself, not its partitions (ON ONLY); `if_not_exists`: for
    a step that is run again after a fault."""
    query = sql.SQL(
        "CREATE {unique}INDEX {concurrently}{exists}{name} ON {only}{table} USING {method} ({elements})").format(
        unique=sql.SQL("UNIQUE " if index.get("unique") else ""),
        concurrently=sql.SQL("CONCURRENTLY " if concurrently else ""),
        exists=sql.SQL("IF NOT EXISTS " if if_not_exists else ""),
        only=sql.SQL("ONLY " if only else ""),
        name=sql.Identifier(index["name"]),
        table=qualified(index["schema"], index["table"]),
        method=sql.Identifier(index.get("method", "btree")),
        elements=sql.SQL(", ").join(index_element(e) for e in index["elements"]),
    )
    if index.get("include"):
        query = sql.SQL("{} INCLUDE ({})").format(query, identifiers(index["include"]))
    if index.get("with_params"):
        query = sql.SQL("{} WITH ({})").format(query, sql.SQL(", ").join(sql.SQL(p) for p in index["with_params"]))
    if index.get("where"):
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(index["where"]))
    return query


def drop_index(index: dict, concurrently: bool = False) -> sql.Composable:
    return sql.SQL("DROP INDEX {}IF EXISTS {}").format(
        sql.SQL("CONCURRENTLY " if concurrently else ""), qualified(index["schema"], index["name"]))


def policy_roles(policy: dict) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("PUBLIC") if r == "public" else sql.Identifier(r) for r in policy.get("roles", ["public"]))


def create_policy(policy: dict) -> sql.Composable:
    query = sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
        sql.Identifier(policy["name"]), qualified(policy["schema"], policy["table"]),
        sql.SQL("PERMISSIVE" if policy.get("permissive", True) else "RESTRICTIVE"),
        sql.SQL(policy.get("command", "all").upper()), policy_roles(policy))
    return _policy_clauses(query, policy)


def _policy_clauses(query: sql.Composable, policy: dict) -> sql.Composable:
    if policy.get("using"):
        query = sql.SQL("{} USING ({})").format(query, sql.SQL(policy["using"]))
    if policy.get("with_check"):
        query = sql.SQL("{} WITH CHECK ({})").format(query, sql.SQL(policy["with_check"]))
    return query


def alter_policy(policy: dict) -> sql.Composable:
    """ALTER POLICY can change roles, USING and WITH CHECK, but cannot remove a clause."""
    query = sql.SQL("ALTER POLICY {} ON {} TO {}").format(
        sql.Identifier(policy["name"]), qualified(policy["schema"], policy["table"]), policy_roles(policy))
    return _policy_clauses(query, policy)


def drop_policy(policy: dict) -> sql.Composable:
    return sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(
        sql.Identifier(policy["name"]), qualified(policy["schema"], policy["table"]))


def drop_function(function: dict) -> sql.Composable:
    return sql.SQL("DROP FUNCTION IF EXISTS {}({})").format(
        qualified(function["schema"], function["name"]), sql.SQL(function.get("arguments", "")))


def drop_trigger(trigger: dict) -> sql.Composable:
    return sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
        sql.Identifier(trigger["name"]), qualified(trigger["schema"], trigger["table"]))


def revoke_trigger(grant: dict) -> sql.Composable:
    """REVOKE TRIGGER ON the table from a role ({schema, table, role}; role `public`: PUBLIC),
    or only its grant option (`grant_option`). CASCADE: with the grants the role passed on
    through that option (their grantor is the role, so no REVOKE by the owner reaches them, and
    without CASCADE PostgreSQL refuses this one)."""
    role = sql.SQL("PUBLIC") if grant["role"] == "public" else sql.Identifier(grant["role"])
    what = sql.SQL("GRANT OPTION FOR TRIGGER" if grant.get("grant_option") else "TRIGGER")
    return sql.SQL("REVOKE {} ON TABLE {} FROM {} CASCADE").format(what, qualified(grant["schema"], grant["table"]),
                                                                    role)


def drop_view(view: dict) -> sql.Composable:
    return sql.SQL("DROP VIEW IF EXISTS {}").format(qualified(view["schema"], view["name"]))


def alter_owner(kind: str, obj: dict) -> sql.Composable:
    """ALTER TABLE|VIEW|FUNCTION ... OWNER TO, for the object described by `obj`."""
    target: sql.Composable = qualified(obj["schema"], obj["name"])
    if kind == "function":
        target = sql.SQL("{}({})").format(target, sql.SQL(obj.get("arguments", "")))
    return sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(kind.upper()), target, sql.Identifier(obj["owner"]))


def create_partition(partition: dict) -> sql.Composable:
    return sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
        qualified(partition["schema"], partition["name"]), qualified(partition["schema"], partition["table"]),
        sql.Literal(partition["from"]), sql.Literal(partition["to"]))


def create_enum(enum: dict) -> sql.Composable:
    return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
        qualified(enum["schema"], enum["name"]), sql.SQL(", ").join(sql.Literal(v) for v in enum.get("values", [])))


def add_enum_value(enum: dict, value: str, placement: str | None = None, neighbour: str | None = None
                   ) -> sql.Composable:
    """ALTER TYPE ... ADD VALUE, at the end or BEFORE/AFTER (`placement`) an existing value."""
    query = sql.SQL("ALTER TYPE {} ADD VALUE {}").format(qualified(enum["schema"], enum["name"]), sql.Literal(value))
    if placement is not None:
        query = sql.SQL("{} {} {}").format(query, sql.SQL("BEFORE" if placement == "before" else "AFTER"),
                                           sql.Literal(neighbour))
    return query


def drop_type(enum: dict) -> sql.Composable:
    return sql.SQL("DROP TYPE IF EXISTS {}").format(qualified(enum["schema"], enum["name"]))
