"""Test code: a parsed module as plain data that two modules can be compared by, the way
PostgreSQL sees them.

Two modules that declare the same objects can still spell an expression differently: a file
written by hand says `DEFAULT 'en'` and `CHECK (language IN ('en', 'fr'))`, a file scaffolded
from the catalog says `DEFAULT 'en'::text` and `CHECK ((language = ANY (ARRAY['en'::text,
'fr'::text])))`. So every expression (defaults, CHECKs, index expressions and predicates, policy
clauses, function, trigger and view definitions) is replaced by PostgreSQL's own rendering of
it: the module is created in a scratch schema, inside a transaction that is rolled back, with
the DDL the provider runs (components.model.render), and each expression is read back from the
catalog. The canonical form depends only on the module given, never on a live object of the
same name. Everything else (names, types, NOT NULL, identity, comments, constraint kinds and
columns, references, index columns and options, RLS flags, policy roles) is compared as parsed.

What the comparison leaves aside, on purpose:
- `source` (file:line) and the order of files and statements: a scaffold numbers files in
  foreign-key order and groups statements by kind;
- the `columns` of a CHECK: the parser records the column a CHECK is written on (none when it
  is written after the columns), not the columns it reads; the canonical CHECK expression says
  what it checks.
An index's storage parameters are compared as the catalog keeps them (`m = 8` and `m='8'`,
as pg_get_indexdef writes it, are one setting).
"""

import copy
from dataclasses import asdict

import psycopg
from pglast import ast, parse_sql
from pglast.stream import RawStream
from psycopg import sql

from components.model import render
from components.model.objects import Module, Ownership
from components.model.parser import walk

SCRATCH = "pgstack_canonical"  # created and dropped inside one rolled-back transaction


def _retarget(definition: str, schema: str, scratch: str) -> str:
    """A canonical CREATE FUNCTION/TRIGGER/VIEW of `schema`, moved to `scratch`."""
    stmt = parse_sql(definition)[0].stmt
    for node in walk(stmt):
        if isinstance(node, ast.RangeVar) and node.schemaname == schema:
            node.schemaname = scratch
    names = getattr(stmt, "funcname", None)  # a function's own name, a trigger's function
    if names and len(names) == 2 and names[0].sval == schema:
        stmt.funcname = (ast.String(sval=scratch), names[1])
    return RawStream()(stmt)


class _Scratch:
    def __init__(self, cur: psycopg.Cursor, module: Module):
        self.cur = cur
        self.module = module
        # One fixed name: it shows in function and trigger definitions, which are compared.
        self.schema = SCRATCH

    def inputs(self, obj) -> dict:
        data = copy.deepcopy(obj.inputs())
        data["schema"] = self.schema
        for con in data.get("constraints", []):
            ref = con.get("references")
            if ref and ref["schema"] == self.module.schema:
                ref["schema"] = self.schema
        return data

    def create(self) -> None:
        cur, module = self.cur, self.module
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        cur.execute(sql.SQL("SET LOCAL search_path TO {}, public, extensions").format(sql.Identifier(self.schema)))
        for enum in module.enums:
            cur.execute(render.create_enum(self.inputs(enum)))
        for table in module.tables_in_dependency_order():
            assert table.managed == Ownership.OWNED, f"{table.name}: merge the modules that extend a table first"
            cur.execute(render.create_table(self.inputs(table)))
        for index in module.indexes:
            cur.execute(render.create_index(self.inputs(index)))
        for function in module.functions:
            cur.execute(_retarget(function.definition, module.schema, self.schema))
        for policy in module.policies:
            cur.execute(render.create_policy(self.inputs(policy)))
        for trigger in module.triggers:
            cur.execute(_retarget(trigger.definition, module.schema, self.schema))
        for view in module.views:
            cur.execute(_retarget(view.definition, module.schema, self.schema))

    def one(self, query: str, *params):
        row = self.cur.execute(query, params).fetchone()
        assert row is not None, (query, params)
        return row[0]

    def relation(self, name: str) -> str:
        return sql.Identifier(self.schema, name).as_string(self.cur)

    def default(self, table: str, column: str) -> str | None:
        return self.one("SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d "
                        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = %s::regclass "
                        "AND a.attname = %s", self.relation(table), column)

    def constraint(self, table: str, name: str) -> str:
        return self.one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                        "AND conname = %s", self.relation(table), name)

    def index_parts(self, name: str) -> tuple[list[str], str | None, list[str]]:
        """Each key column's text (pg_get_indexdef(oid, k, true)), the predicate, the storage
        parameters (m='8' and m = 8 are one setting)."""
        oid = self.one("SELECT %s::regclass::oid", self.relation(name))
        count, predicate, options = self.cur.execute(
            "SELECT i.indnkeyatts, pg_get_expr(i.indpred, i.indrelid), coalesce(c.reloptions, '{}') FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indexrelid = %s", (oid,)).fetchone()
        keys = [self.one("SELECT pg_get_indexdef(%s, %s, true)", oid, k) for k in range(1, count + 1)]
        return keys, predicate, options

    def policy(self, table: str, name: str) -> tuple[str | None, str | None]:
        return self.cur.execute("SELECT qual, with_check FROM pg_policies WHERE schemaname = %s AND tablename = %s "
                                "AND policyname = %s", (self.schema, table, name)).fetchone()

    def function(self, name: str, arguments: str) -> str:
        return self.one("SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        "WHERE n.nspname = %s AND p.proname = %s AND oidvectortypes(p.proargtypes) = %s",
                        self.schema, name, arguments)

    def trigger(self, table: str, name: str) -> str:
        return self.one("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                        self.relation(table), name)

    def view(self, name: str) -> str:
        return self.one("SELECT pg_get_viewdef(%s::regclass) || coalesce(array_to_string(c.reloptions, ','), '') "
                        "FROM pg_class c WHERE c.oid = %s::regclass", self.relation(name), self.relation(name))


def comparable(conn: psycopg.Connection, module: Module) -> dict:
    """`module` as plain data with PostgreSQL's rendering of every expression (see above).
    `conn` must reach the roles, extensions and other schemas the module refers to."""
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        scratch = _Scratch(cur, module)
        scratch.create()
        tables = {}
        for table in module.tables:
            data = asdict(table)
            # Where a row came from, and review findings accepted in the file (a comment the
            # catalog does not keep), are not part of what the object is.
            for key in ("source", "schema", "partition_key", "accepted"):
                data.pop(key)
            for column in data["columns"]:
                column["default"] = scratch.default(table.name, column["name"])
            constraints = {}
            for con in data.pop("constraints"):
                if con["kind"] == "check":
                    con["expression"] = scratch.constraint(table.name, con["name"])
                    con["columns"] = None
                constraints[con.pop("name")] = con
            data["constraints"] = constraints
            tables[data.pop("name")] = data
        indexes = {}
        for index in module.indexes:
            data = asdict(index)
            keys, data["where"], data["with_params"] = scratch.index_parts(index.name)
            for element, key in zip(data["elements"], keys, strict=True):
                if element["expression"] is not None:
                    element["expression"] = key
            for key in ("source", "schema", "accepted"):
                data.pop(key)
            indexes[data.pop("name")] = data
        policies = {}
        for policy in module.policies:
            data = asdict(policy)
            data["using"], data["with_check"] = scratch.policy(policy.table, policy.name)
            data["roles"] = sorted(data["roles"])
            for key in ("source", "schema", "accepted"):
                data.pop(key)
            policies[(data.pop("table"), data.pop("name"))] = data
        functions = {(f.name, f.arguments): {"returns": f.returns, "definition": scratch.function(f.name, f.arguments)}
                     for f in module.functions}
        triggers = {(t.table, t.name): {"function": t.function, "definition": scratch.trigger(t.table, t.name)}
                    for t in module.triggers}
        views = {v.name: {"definition": scratch.view(v.name), "reads": v.reads} for v in module.views}
    return {
        "schemas": sorted(s.name for s in module.schemas),
        "extensions": sorted((e.name, e.schema) for e in module.extensions),
        "enums": {e.name: e.values for e in module.enums},
        "tables": tables, "indexes": indexes, "policies": policies, "functions": functions,
        "triggers": triggers, "views": views,
    }


def merged(owner: Module, extension: Module) -> Module:
    """One module of the same schema: `owner`'s objects with `extension`'s, the columns and
    constraints it adds to `owner`'s tables merged into them (the catalog does not record
    which module added a column)."""
    result = copy.deepcopy(owner)
    for table in copy.deepcopy(extension.tables):
        own = result.table(table.name)
        if table.managed == Ownership.EXTENDED and own is not None:
            own.columns += table.columns
            own.constraints += table.constraints
        else:
            result.add_table(table)
    for kind in ("schemas", "extensions", "enums", "indexes", "policies", "functions", "triggers", "views"):
        getattr(result, kind).extend(copy.deepcopy(getattr(extension, kind)))
    return result
