"""Read one schema's live catalog: one readable query per object kind, each row read into a
named, typed row (psycopg's `class_row`), never unpacked by position.

The session's search_path is the one the provider applies a module with (the module's schema,
public, extensions: see components/provider/base.py `_session`), so every expression, type and
definition the server renders (pg_get_expr, format_type, pg_get_*def) names objects the way
they resolve when the provider applies the scaffolded files: unqualified when the path finds
them, qualified otherwise (auth.uid()).

Objects that belong to an extension are never read as the schema's own: `CREATE EXTENSION`
declares them.
"""

from dataclasses import dataclass, field
from typing import Any, TypeVar

from psycopg import Connection, Cursor, sql
from psycopg.rows import class_row

Row = TypeVar("Row")

# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationRow:
    oid: int
    name: str
    kind: str  # pg_class.relkind: r table, p partitioned table, v view, m materialized view, f foreign, S sequence
    is_partition: bool
    parents: list[str]  # partition parent or inheritance parents
    partition_by: str | None  # pg_get_partkeydef(), partitioned tables only
    persistence: str  # p permanent, u unlogged
    rls_enabled: bool
    rls_forced: bool
    comment: str | None
    options: list[str] | None  # reloptions (fillfactor=70, security_invoker=true ...)
    tablespace: str | None
    typed: bool  # CREATE TABLE ... OF type
    replica_identity: str  # d default, n nothing, f full, i index
    owned_by: str | None  # sequences: the column that owns it (identity or serial)
    definition: str | None  # views: pg_get_viewdef(), pretty-printed


@dataclass(frozen=True)
class ColumnRow:
    table_oid: int
    name: str
    type: str  # format_type()
    default: str | None
    generated: str | None  # the expression of a GENERATED ... AS (expr) STORED column
    not_null: bool
    identity: str  # '' | a (always) | d (by default)
    identity_default_options: bool | None  # the identity sequence has the default settings
    comment: str | None
    collation: str | None  # only when it differs from the type's default
    options: list[str] | None  # attoptions (n_distinct ...)
    custom_storage: bool  # SET STORAGE / SET COMPRESSION differ from the type's default
    user_type: str | None  # the user-defined type (or array element type) it uses, if any
    user_type_oid: int | None
    user_type_kind: str | None  # pg_type.typtype of that type: e enum, d domain, c composite, r range
    default_sequence: str | None  # the sequence a nextval() default reads (serial)


@dataclass(frozen=True)
class ConstraintRow:
    table_oid: int
    name: str
    kind: str  # p primary key, u unique, c check, f foreign key, x exclusion
    columns: list[str]
    definition: str  # pg_get_constraintdef()
    ref_schema: str | None
    ref_table: str | None
    ref_columns: list[str]
    on_delete: str  # pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default
    on_update: str
    match_type: str  # s simple, f full, p partial
    delete_set_columns: bool  # ON DELETE SET NULL (columns)
    deferrable: bool
    validated: bool
    no_inherit: bool
    enforced: bool
    period: bool  # WITHOUT OVERLAPS / PERIOD (PostgreSQL 18)
    comment: str | None
    index_include: bool  # primary key / unique: INCLUDE columns
    index_nulls_not_distinct: bool
    index_options: list[str] | None
    index_tablespace: str | None


@dataclass(frozen=True)
class IndexRow:
    table_oid: int
    name: str
    definition: str  # pg_get_indexdef()
    valid: bool
    comment: str | None
    tablespace: str | None


@dataclass(frozen=True)
class PolicyRow:
    table_oid: int
    name: str
    command: str  # r select, a insert, w update, d delete, * all
    permissive: bool
    roles: list[str]
    using: str | None
    with_check: str | None
    comment: str | None


@dataclass(frozen=True)
class TriggerRow:
    table_oid: int
    name: str
    definition: str  # pg_get_triggerdef()
    enabled: str  # O enabled, D disabled, R replica, A always
    is_constraint: bool
    function_oid: int
    function_schema: str
    comment: str | None


@dataclass(frozen=True)
class FunctionRow:
    oid: int
    name: str
    arguments: str  # pg_get_function_identity_arguments()
    kind: str  # f function, p procedure, a aggregate, w window
    definition: str | None  # pg_get_functiondef(), functions and procedures only
    comment: str | None


@dataclass(frozen=True)
class DependencyRow:
    """Something a scaffolded relation or function uses: a function of the schema, or a member
    of an extension (a type, function, operator or operator class)."""

    relation_oid: int | None  # the table or view whose column, index, policy ... uses it
    function_oid: int | None  # or the function that uses it
    used_function: int | None  # a function of the schema (not of an extension)
    extension: str | None


@dataclass(frozen=True)
class ViewReadRow:
    view_oid: int
    relation_oid: int
    schema: str
    name: str
    kind: str


@dataclass(frozen=True)
class EnumRow:
    oid: int
    name: str
    values: list[str]  # in their sort order
    comment: str | None


@dataclass(frozen=True)
class NamedRow:
    """An object only listed (a rule, extended statistics, a type the model cannot declare)."""

    table_oid: int | None
    name: str
    kind: str


# --- queries -----------------------------------------------------------------------------------

NOT_IN_EXTENSION = """NOT EXISTS (SELECT 1 FROM pg_depend e
                  WHERE e.classid = {catalog}::regclass AND e.objid = {oid} AND e.deptype = 'e')"""

SCHEMA_EXISTS = "SELECT count(*) FROM pg_namespace WHERE nspname = %(schema)s"

RELATIONS = f"""
SELECT c.oid, c.relname AS name, c.relkind AS kind, c.relispartition AS is_partition,
       ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_by,
       c.relpersistence AS persistence, c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced,
       obj_description(c.oid, 'pg_class') AS comment, c.reloptions AS options, ts.spcname AS tablespace,
       c.reloftype <> 0 AS typed, c.relreplident AS replica_identity,
       (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
        FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
          AND d.deptype IN ('a', 'i')) AS owned_by,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND {NOT_IN_EXTENSION.format(catalog="'pg_class'", oid="c.oid")}
ORDER BY c.relname
"""

# The user-defined type a column uses is its own type, or for an array its element type.
COLUMNS = f"""
SELECT a.attrelid AS table_oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
       a.attnotnull AS not_null, a.attidentity AS identity,
       CASE WHEN seq.seqrelid IS NOT NULL THEN
           seq.seqstart = 1 AND seq.seqincrement = 1 AND seq.seqmin = 1 AND seq.seqcache = 1 AND NOT seq.seqcycle
           AND seq.seqmax = CASE seq.seqtypid WHEN 'smallint'::regtype THEN 32767
                                              WHEN 'integer'::regtype THEN 2147483647
                                              ELSE 9223372036854775807 END
       END AS identity_default_options,
       col_description(a.attrelid, a.attnum) AS comment,
       CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(co.collname) END AS collation,
       a.attoptions AS options,
       a.attstorage <> t.typstorage OR a.attcompression <> '' AS custom_storage,
       CASE WHEN bn.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND {NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="bt.oid")}
            THEN bt.oid::regtype::text END AS user_type,
       CASE WHEN bn.nspname NOT IN ('pg_catalog', 'information_schema')
                 AND {NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="bt.oid")}
            THEN bt.oid END AS user_type_oid,
       bt.typtype AS user_type_kind,
       (SELECT s.oid::regclass::text FROM pg_depend dd JOIN pg_class s ON s.oid = dd.refobjid AND s.relkind = 'S'
        WHERE dd.classid = 'pg_attrdef'::regclass AND dd.objid = d.oid LIMIT 1) AS default_sequence
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
JOIN pg_namespace bn ON bn.oid = bt.typnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_depend id ON id.classid = 'pg_class'::regclass AND id.refclassid = 'pg_class'::regclass
     AND id.refobjid = a.attrelid AND id.refobjsubid = a.attnum AND id.deptype = 'i'
LEFT JOIN pg_sequence seq ON seq.seqrelid = id.objid
WHERE a.attrelid = ANY(%(relations)s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# NOT NULL constraints (catalogued since PostgreSQL 18) are a column property here. Columns
# added after PostgreSQL 15 (conenforced, conperiod) are read through to_jsonb, so the query
# runs on every supported version.
CONSTRAINTS = """
SELECT con.conrelid AS table_oid, con.conname AS name, con.contype AS kind,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i) AS columns,
       pg_get_constraintdef(con.oid) AS definition,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i) AS ref_columns,
       con.confdeltype AS on_delete, con.confupdtype AS on_update, con.confmatchtype AS match_type,
       con.confdelsetcols IS NOT NULL AS delete_set_columns,
       con.condeferrable AS deferrable, con.convalidated AS validated, con.connoinherit AS no_inherit,
       coalesce((to_jsonb(con) ->> 'conenforced')::boolean, true) AS enforced,
       coalesce((to_jsonb(con) ->> 'conperiod')::boolean, false) AS period,
       obj_description(con.oid, 'pg_constraint') AS comment,
       coalesce(i.indnkeyatts < i.indnatts, false) AS index_include,
       coalesce(i.indnullsnotdistinct, false) AS index_nulls_not_distinct,
       ic.reloptions AS index_options, its.spcname AS index_tablespace
FROM pg_constraint con
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = con.conindid AND con.contype IN ('p', 'u')
LEFT JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_tablespace its ON its.oid = ic.reltablespace
WHERE con.conrelid = ANY(%(relations)s) AND con.contype IN ('p', 'u', 'c', 'f', 'x')
ORDER BY con.conrelid, con.conname
"""

# Indexes of primary key, unique and exclusion constraints are the constraints' own.
INDEXES = """
SELECT i.indrelid AS table_oid, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
       i.indisvalid AS valid, obj_description(i.indexrelid, 'pg_class') AS comment, ts.spcname AS tablespace
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
WHERE i.indrelid = ANY(%(relations)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, c.relname
"""

POLICIES = """
SELECT p.polrelid AS table_oid, p.polname AS name, p.polcmd AS command, p.polpermissive AS permissive,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid) END
             FROM unnest(p.polroles) WITH ORDINALITY AS r(oid, i) ORDER BY r.i) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy p
WHERE p.polrelid = ANY(%(relations)s)
ORDER BY p.polrelid, p.polname
"""

# Internal triggers are those of foreign keys; a trigger cloned onto a partition is its parent's.
TRIGGERS = """
SELECT t.tgrelid AS table_oid, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled,
       t.tgconstraint <> 0 AS is_constraint, t.tgfoid AS function_oid, fn.nspname AS function_schema,
       obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_trigger t
JOIN pg_proc f ON f.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
WHERE t.tgrelid = ANY(%(relations)s) AND NOT t.tgisinternal AND t.tgparentid = 0
ORDER BY t.tgrelid, t.tgname
"""

FUNCTIONS = f"""
SELECT p.oid, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments, p.prokind AS kind,
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS definition,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %(schema)s AND {NOT_IN_EXTENSION.format(catalog="'pg_proc'", oid="p.oid")}
ORDER BY p.proname, pg_get_function_identity_arguments(p.oid)
"""

# What the relations (their columns, defaults, constraints, indexes, policies, triggers, rules)
# and the functions depend on, kept when it is a function of the schema or a member of an
# extension. Languages are left out: plpgsql is an extension that is always there.
DEPENDENCIES = """
WITH parts (relation_oid, function_oid, classid, objid) AS (
    SELECT r, NULL::oid, 'pg_class'::regclass, r FROM unnest(%(relations)s::oid[]) AS r
    UNION ALL SELECT adrelid, NULL, 'pg_attrdef'::regclass, oid FROM pg_attrdef WHERE adrelid = ANY(%(relations)s)
    UNION ALL SELECT conrelid, NULL, 'pg_constraint'::regclass, oid FROM pg_constraint
              WHERE conrelid = ANY(%(relations)s)
    UNION ALL SELECT indrelid, NULL, 'pg_class'::regclass, indexrelid FROM pg_index WHERE indrelid = ANY(%(relations)s)
    UNION ALL SELECT polrelid, NULL, 'pg_policy'::regclass, oid FROM pg_policy WHERE polrelid = ANY(%(relations)s)
    UNION ALL SELECT tgrelid, NULL, 'pg_trigger'::regclass, oid FROM pg_trigger
              WHERE tgrelid = ANY(%(relations)s) AND NOT tgisinternal
    UNION ALL SELECT ev_class, NULL, 'pg_rewrite'::regclass, oid FROM pg_rewrite WHERE ev_class = ANY(%(relations)s)
    UNION ALL SELECT NULL, f, 'pg_proc'::regclass, f FROM unnest(%(functions)s::oid[]) AS f
)
SELECT DISTINCT parts.relation_oid, parts.function_oid,
       CASE WHEN d.refclassid = 'pg_proc'::regclass AND x.extname IS NULL AND pn.nspname = %(schema)s
            THEN d.refobjid END AS used_function,
       x.extname AS extension
FROM parts
JOIN pg_depend d ON d.classid = parts.classid AND d.objid = parts.objid
LEFT JOIN pg_depend member ON member.classid = d.refclassid AND member.objid = d.refobjid
     AND member.deptype = 'e' AND member.refclassid = 'pg_extension'::regclass
LEFT JOIN pg_extension x ON x.oid = member.refobjid
LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE d.refclassid IN ('pg_type'::regclass, 'pg_proc'::regclass, 'pg_operator'::regclass, 'pg_opclass'::regclass,
                       'pg_collation'::regclass)
  AND (x.extname IS NOT NULL OR (d.refclassid = 'pg_proc'::regclass AND pn.nspname = %(schema)s))
"""

# The tables and views each view reads (through its rewrite rule).
VIEW_READS = """
SELECT DISTINCT r.ev_class AS view_oid, c.oid AS relation_oid, n.nspname AS schema, c.relname AS name,
       c.relkind AS kind
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
JOIN pg_class c ON c.oid = d.refobjid AND c.oid <> r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.ev_class = ANY(%(relations)s)
"""

# Rules other than a view's own SELECT rule, and extended statistics: listed, never written.
RULES = """
SELECT ev_class AS table_oid, rulename AS name, 'rule' AS kind
FROM pg_rewrite WHERE ev_class = ANY(%(relations)s) AND rulename <> '_RETURN'
UNION ALL
SELECT stxrelid, stxname, 'extended statistics' FROM pg_statistic_ext WHERE stxrelid = ANY(%(relations)s)
ORDER BY 1, 2
"""

ENUMS = f"""
SELECT t.oid, t.typname AS name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS values,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = %(schema)s AND t.typtype = 'e' AND {NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="t.oid")}
ORDER BY t.typname
"""

# Types of the schema the model cannot declare (domains, composite and range types; a table's
# own row type and array types come with their table or element type).
TYPES = f"""
SELECT NULL::oid AS table_oid, t.typname AS name,
       CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'
                      WHEN 'r' THEN 'range type' ELSE 'type' END AS kind
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE n.nspname = %(schema)s AND t.typtype IN ('d', 'c', 'r')
  AND (t.typtype <> 'c' OR c.relkind = 'c')
  AND {NOT_IN_EXTENSION.format(catalog="'pg_type'", oid="t.oid")}
ORDER BY t.typname
"""

# --- reading -----------------------------------------------------------------------------------


@dataclass
class Catalog:
    """What one schema's catalog holds."""

    schema: str
    relations: list[RelationRow]  # every relation of the schema
    columns: list[ColumnRow] = field(default_factory=list)
    constraints: list[ConstraintRow] = field(default_factory=list)
    indexes: list[IndexRow] = field(default_factory=list)
    policies: list[PolicyRow] = field(default_factory=list)
    triggers: list[TriggerRow] = field(default_factory=list)
    functions: list[FunctionRow] = field(default_factory=list)  # every function of the schema
    dependencies: list[DependencyRow] = field(default_factory=list)
    view_reads: list[ViewReadRow] = field(default_factory=list)
    rules: list[NamedRow] = field(default_factory=list)
    enums: list[EnumRow] = field(default_factory=list)
    types: list[NamedRow] = field(default_factory=list)


def search_path(schema: str) -> sql.Composed:
    """The provider's search path for a module in `schema` (components/provider/base.py)."""
    return sql.SQL("SET search_path TO {}, public, extensions").format(sql.Identifier(schema))


def schema_exists(conn: Connection[Any], schema: str) -> bool:
    row = conn.execute(SCHEMA_EXISTS, {"schema": schema}).fetchone()
    return bool(row and row[0])


def _rows(conn: Connection[Any], query: str, row_type: type[Row], **params: Any) -> list[Row]:
    cur: Cursor[Row]
    with conn.cursor(row_factory=class_row(row_type)) as cur:
        return cur.execute(query, params).fetchall()


def read(conn: Connection[Any], schema: str) -> Catalog:
    """The catalog of every table and view of `schema` (partitions aside) and of its functions
    and types. The connection's search_path must be `search_path(schema)`."""
    relation_rows = _rows(conn, RELATIONS, RelationRow, schema=schema)
    functions = _rows(conn, FUNCTIONS, FunctionRow, schema=schema)
    selected = [r.oid for r in relation_rows if r.kind in ("r", "p", "v") and not r.is_partition]
    params = {"schema": schema, "relations": selected}
    return Catalog(
        schema=schema,
        relations=relation_rows,
        columns=_rows(conn, COLUMNS, ColumnRow, **params),
        constraints=_rows(conn, CONSTRAINTS, ConstraintRow, **params),
        indexes=_rows(conn, INDEXES, IndexRow, **params),
        policies=_rows(conn, POLICIES, PolicyRow, **params),
        triggers=_rows(conn, TRIGGERS, TriggerRow, **params),
        functions=functions,
        dependencies=_rows(conn, DEPENDENCIES, DependencyRow, functions=[f.oid for f in functions], **params),
        view_reads=_rows(conn, VIEW_READS, ViewReadRow, **params),
        rules=_rows(conn, RULES, NamedRow, **params),
        enums=_rows(conn, ENUMS, EnumRow, schema=schema),
        types=_rows(conn, TYPES, NamedRow, schema=schema),
    )
