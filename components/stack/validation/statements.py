"""What `up` would run on an empty database, statement by statement, for the scratch database.

Rendered with the model's own plan functions (model/plan.py) from the same inputs the resources
get, so the scratch database sees exactly the DDL the provider would execute, in an order the
engine could choose: per module (in config order) its schemas, extensions, enum types, tables,
partitions, functions, indexes, policies, triggers, views, data migrations and sample data. What
the stack finds in place on its target comes first, as stand-ins: Supabase's auth functions and
`extensions` schema on a Supabase target, and the tables outside the stack (external_tables),
with only the columns the stack's foreign keys need. The stack's roles are stand-ins too
(scratch.py creates them).

Pure: no database.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from psycopg import sql

from ...model import plan, render
from ...model.declared import DeclaredTables
from ...model.parser import parse_module
from ...model.partitions import monthly_partitions
from ...model.plan import Step
from ...settings import StackSettings
from ...supabase import API_ROLES, AUTH_MODULE, AUTH_SCHEMA, AUTH_SQL_DIR, AUTHENTICATOR, EXTENSIONS_SCHEMA
from ..loading import LoadedModule, LoadedStack


@dataclass(frozen=True)
class Statement:
    source: str  # file:line (or config key) of what the statement declares
    step: Step
    # The session the provider would run it in: search path head (None: the server's default,
    # as for pulumi_postgresql's schemas and extensions) and whether it runs as the owner role.
    schema: str | None = None
    as_owner: bool = False
    # A policy's table and expressions ("USING", expression), for finding where an error is:
    # PostgreSQL reports no position inside CREATE POLICY (see check.py).
    table: tuple[str, str] | None = None
    expressions: tuple[tuple[str, str], ...] = ()


def stand_in_roles(settings: StackSettings) -> list[str]:
    """Every role the stack's SQL may name or run as: created NOLOGIN in the scratch cluster."""
    return [settings.owner_role, *API_ROLES, AUTHENTICATOR, *(r.name for r in settings.roles)]


def stack_statements(settings: StackSettings, stack: LoadedStack, today: date | None = None) -> list[Statement]:
    statements = supabase_statements() if settings.target == "supabase" else []
    statements += outside_the_stack(settings, stack)
    for loaded in stack.modules:
        statements += module_statements(settings, stack.declared, loaded, today or datetime.now(UTC).date())
    return statements


# --- what the target has before the stack --------------------------------------------------------

def supabase_statements() -> list[Statement]:
    """What a Supabase project has that the stack relies on: the `extensions` schema and the
    `auth` schema with auth.uid(), auth.role(), auth.jwt() (the program's compatible ones), usable
    by the API roles only (supabase/postgres, migrations/db/init-scripts)."""
    source = "Supabase (components/supabase/)"
    statements = create_schema(source, EXTENSIONS_SCHEMA) + create_schema(source, AUTH_SCHEMA)
    api_roles = sql.SQL(", ").join(sql.Identifier(r) for r in API_ROLES)
    for schema in (AUTH_SCHEMA, EXTENSIONS_SCHEMA):
        statements.append(Statement(source, Step(f"grant usage on schema {schema}", sql.SQL(
            "GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), api_roles))))
    for function in parse_module(AUTH_MODULE, AUTH_SCHEMA, AUTH_SQL_DIR, DeclaredTables()).functions:
        statements.append(Statement(function.source, plan.create_or_replace("function", function.inputs())[0],
                                    schema=AUTH_SCHEMA))
    return statements


def external_tables(stack: LoadedStack) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    """Each table outside the stack (modules[i].external_tables): the config key naming it, and
    the columns the stack's foreign keys reference, typed like the referencing column (a foreign
    key needs equal types). Nothing else about such a table is known."""
    tables: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
    for loaded in stack.modules:
        for qualified_name in loaded.config.external_tables:
            schema, _, name = qualified_name.rpartition(".")
            tables.setdefault((schema or loaded.config.schema, name), (config_source(loaded, "external_tables"), {}))
    for loaded in stack.modules:
        for table in loaded.module.tables:
            for constraint in table.constraints:
                ref = constraint.references
                if ref is None or (ref.schema, ref.table) not in tables:
                    continue
                for column, referenced in zip(constraint.columns, ref.columns, strict=True):
                    declared = table.column(column)
                    tables[(ref.schema, ref.table)][1][referenced] = declared.type if declared else "text"
    return tables


def outside_the_stack(settings: StackSettings, stack: LoadedStack) -> list[Statement]:
    """Stand-ins for what exists on the target outside the stack, and the owner's rights on it
    (as stack/grants.py `owner_rights` grants them): USAGE on Supabase's `extensions`, schemas
    the stack does not create (public), and the tables it only extends or references
    (external_tables)."""
    owner = sql.Identifier(settings.owner_role)
    schemas = {m.config.schema: config_source(m, "schema") for m in reversed(stack.modules)
               if not m.config.create_schema}
    statements = []
    if settings.target == "supabase":
        statements.append(Statement("pgstack:target", Step(f"grant usage on schema {EXTENSIONS_SCHEMA} to the owner",
                                                           sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                                                               sql.Identifier(EXTENSIONS_SCHEMA), owner))))
    for schema, source in schemas.items():
        statements += [
            Statement(source, Step(f"schema {schema}", sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(schema)))),
            Statement(source, Step(f"grant create, usage on schema {schema} to the owner", sql.SQL(
                "GRANT CREATE, USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), owner))),
        ]
    for (schema, name), (source, columns) in external_tables(stack).items():
        stand_in = {"schema": schema, "name": name, "columns": [{"name": c, "type": t} for c, t in columns.items()],
                    "constraints": [{"name": f"{name}_stand_in_key", "kind": "unique", "columns": list(columns)}]
                    if columns else []}
        statements += [
            Statement(source, Step(f"schema {schema}", sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(schema)))),
            Statement(source, Step(f"stand-in for table {schema}.{name}, which exists outside the stack",
                                   render.create_table(stand_in))),
            Statement(source, Step(f"grant references on {schema}.{name} to the owner", sql.SQL(
                "GRANT REFERENCES ON {} TO {}").format(render.qualified(schema, name), owner))),
        ]
    return statements


# --- one module ---------------------------------------------------------------------------------

def config_source(loaded: LoadedModule, key: str) -> str:
    """The config key a module's setting comes from (the built-in auth module has none)."""
    return f"pgstack:{loaded.config.key}.{key}" if loaded.config.key else f"built-in module {loaded.name}"


def create_schema(source: str, name: str, owner: str | None = None) -> list[Statement]:
    """As pulumi_postgresql creates a Schema (tests/support/postgresql_double.py)."""
    statements = [Statement(source, Step(f"create schema {name}", sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
        sql.Identifier(name))))]
    if owner:
        statements.append(Statement(source, Step(f"hand schema {name} to {owner}", sql.SQL(
            "ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(name), sql.Identifier(owner)))))
    return statements


def module_statements(settings: StackSettings, declared: DeclaredTables, loaded: LoadedModule,
                      today: date) -> list[Statement]:
    return schema_statements(settings, loaded) + object_statements(settings, declared, loaded, today)


def schema_statements(settings: StackSettings, loaded: LoadedModule) -> list[Statement]:
    """The module's pulumi_postgresql schemas and extensions: as the connecting user, in the
    server's default search path."""
    module, owner = loaded.module, settings.owner_role
    statements = create_schema(config_source(loaded, "schema"), module.schema, owner) \
        if loaded.config.create_schema else []
    for extra in module.schemas:
        statements += create_schema(extra.source, extra.name, owner)
    for ext in loaded.extensions:
        if ext.name not in settings.validation.skip_extensions:
            create = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext.name))
            if ext.schema:
                create = sql.SQL("{} SCHEMA {}").format(create, sql.Identifier(ext.schema))
            statements.append(Statement(ext.source, Step(f"create extension {ext.name}", create)))
    return statements


def object_statements(settings: StackSettings, declared: DeclaredTables, loaded: LoadedModule,
                      today: date) -> list[Statement]:
    """The module's dynamic resources, each in the session the provider gives it: the module's
    schema first in the search path, and as the owner role on the stack's own tables."""
    module, schema = loaded.module, loaded.module.schema

    def owned(table: str) -> bool:
        return declared.owned_by_stack(schema, table)

    def of(source: str, steps: list[Step], as_owner: bool = True) -> list[Statement]:
        return [Statement(source, step, schema, as_owner) for step in steps]

    statements = [s for enum in module.enums for s in of(enum.source, plan.create_enum(enum.inputs()))]
    for table in module.tables_in_dependency_order():
        statements += of(table.source, plan.create_table(table.inputs()), owned(table.name))
    for spec in loaded.config.partitions:
        parent = module.table(spec.table)
        assert parent is not None  # loading.check_partitions has checked it
        for partition in monthly_partitions(parent, spec.start, spec.ahead, today, source=f"pgstack:{spec.key}"):
            statements += of(partition.source, plan.create_partition(partition.inputs()))
    for function in module.functions:
        statements += of(function.source, plan.create_or_replace("function", function.inputs()))
    for index in module.indexes:
        statements += of(index.source, plan.create_index(index.inputs(), online=False), owned(index.table))
    for policy in module.policies:  # as the connecting user, as the program creates them
        clauses = tuple((k, e) for k, e in (("USING", policy.using), ("WITH CHECK", policy.with_check)) if e)
        statements += [Statement(policy.source, step, schema, False, (schema, policy.table), clauses)
                       for step in plan.create_policy(policy.inputs())]
    for trigger in module.triggers:
        statements += of(trigger.source, plan.create_or_replace("trigger", trigger.inputs()), owned(trigger.table))
    for view in module.views:
        statements += of(view.source, plan.create_or_replace("view", view.inputs()))
    return statements + data_statements(declared, loaded)


def data_statements(declared: DeclaredTables, loaded: LoadedModule) -> list[Statement]:
    """The module's data migrations (each run once, batched or not: what matters here is that
    they apply), then its sample data."""
    schema = loaded.module.schema
    statements = [Statement(m.source, Step(f"{m.action} {m.table}", sql.SQL(m.sql)), schema,
                            declared.owned_by_stack(schema, m.table))
                  for migration in loaded.migrations for m in migration.statements]
    for sample in loaded.sample_data.statements if loaded.sample_data else ():
        statements.append(Statement(sample.source, Step(f"insert into {sample.table}", sql.SQL(sample.sql)), schema,
                                    True))
    return statements
