"""StackGrants: what each role may do, from `pgstack:grants`, as pulumi_postgresql resources.

- Table (and view) and function privileges are granted per object and role: a Grant is
  authoritative for the objects it lists, and the real provider replaces it (revoking first)
  when its list changes, so one Grant per object means a module that gains a table adds a
  Grant instead of briefly revoking every other table's rights. Tables of the same schema
  that the stack does not manage are never touched.
- Schema USAGE/CREATE, sequence privileges (sequences are not modelled; the grant covers the
  schema's sequences) and default privileges belong to a schema, which several modules may
  share (dev's `site` and `tracking` both use public): per schema and role they are the union
  of what the modules in it grant. Default privileges are set for objects the owner role
  creates, so a table added later gets the same rights.
- GRANT rewrites the object's ACL in place, and two at once on one object fail with "tuple
  concurrently updated"; the engine runs independent resources in parallel, so grants that
  touch the same ACL wait for each other (AclChains), and a grant on a table waits for every
  resource that rewrites the table's catalog row (StackTables.touching: its indexes, policies,
  triggers, partitions, and the tables of any module whose foreign keys reference it). A grant
  waits for those resources only, never for whole modules: depending on a component makes the
  SDK check each of its resources for cycles, per grant, which grows with the square of the
  number of tables.
- Schema-wide grants wait for what the modules in that schema wait for (the roles, the owner's
  rights, the schemas; SchemaModule.prerequisites), and a GRANT ON ALL SEQUENCES also for the
  schema's tables, whose identity sequences it covers.
- The owner's own rights (`owner_rights`, declared by StackRoles): CREATE and USAGE on schemas
  the stack does not create (public), REFERENCES on tables outside the stack that a foreign
  key points at, and on Supabase USAGE on schema `extensions`, where Supabase installs
  extensions (the owner creates columns of their types; without USAGE the search path silently
  skips the schema and `vector` is not found).
"""

from dataclasses import dataclass, field

import pulumi
import pulumi_postgresql as postgresql

from ..settings import GrantConfig, StackSettings
from ..supabase import EXTENSIONS_SCHEMA
from . import resources
from .loading import LoadedStack
from .schema_module import SchemaModule, StackTables


@dataclass
class _SchemaRights:
    schema: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    sequences: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)


def _upper(privileges) -> list[str]:
    return sorted(p.upper() for p in privileges)


class AclChains:
    """The last grant declared on each ACL, so the next one on the same ACL waits for it."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], pulumi.Resource] = {}

    def after(self, acl: tuple[str, ...]) -> list[pulumi.Resource]:
        return [self._last[acl]] if acl in self._last else []

    def record(self, acl: tuple[str, ...], resource: pulumi.Resource) -> None:
        self._last[acl] = resource


def owner_rights(settings: StackSettings, stack: LoadedStack, owner: pulumi.Input[str],
                 opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """Grants the owner role needs before it can create the modules' objects."""
    database = settings.connection.dbname
    resources: list[pulumi.Resource] = []
    for schema in sorted({m.config.schema for m in stack.modules if not m.config.create_schema}):
        resources.append(postgresql.Grant(
            f"{settings.owner_role} on schema {schema}", database=database, role=owner, schema=schema,
            object_type="schema", privileges=["CREATE", "USAGE"], opts=opts))
    if settings.target == "supabase":
        resources.append(postgresql.Grant(
            f"{settings.owner_role} on schema {EXTENSIONS_SCHEMA}", database=database, role=owner,
            schema=EXTENSIONS_SCHEMA, object_type="schema", privileges=["USAGE"], opts=opts))
    external: dict[str, set[str]] = {}
    for loaded in stack.modules:
        for table in loaded.module.tables:
            for constraint in table.constraints:
                ref = constraint.references
                if ref and not stack.declared.owned_by_stack(ref.schema, ref.table):
                    external.setdefault(ref.schema, set()).add(ref.table)
    for schema, tables in sorted(external.items()):
        resources.append(postgresql.Grant(
            f"{settings.owner_role} references {schema} external tables", database=database, role=owner,
            schema=schema, object_type="table", objects=sorted(tables), privileges=["REFERENCES"], opts=opts))
    return resources


@dataclass(frozen=True)
class StackGrantsArgs:
    settings: StackSettings
    grants: tuple[GrantConfig, ...]
    stack: LoadedStack
    components: dict[str, SchemaModule]
    tables: StackTables
    role_names: dict[str, pulumi.Input[str]]
    owner: pulumi.Input[str]
    pg_provider: postgresql.Provider


class StackGrants(pulumi.ComponentResource):
    def __init__(self, args: StackGrantsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("pgstack:index:Grants", "grants", None, opts)
        self._opts = pulumi.ResourceOptions(parent=self, provider=args.pg_provider)
        self._database = args.settings.connection.dbname
        self._chains = AclChains()
        modules = {m.name: m.module for m in args.stack.modules}
        per_schema: dict[tuple[str, str], _SchemaRights] = {}
        prerequisites: dict[str, dict[pulumi.Resource, None]] = {}  # per schema, in order, once each
        tables: dict[str, list[pulumi.Resource]] = {}  # the table resources of each schema
        for name, component in args.components.items():
            prerequisites.setdefault(modules[name].schema, {}).update(dict.fromkeys(component.prerequisites))
            tables.setdefault(modules[name].schema, []).extend(component.tables.values())

        for grant in args.grants:
            module, component = modules[grant.module], args.components[grant.module]
            role = args.role_names[grant.role]
            rights = per_schema.setdefault((module.schema, grant.role), _SchemaRights())
            rights.schema |= set(grant.schema)
            rights.tables |= set(grant.tables)
            rights.sequences |= set(grant.sequences)
            rights.functions |= set(grant.functions)

            # The module's own tables and views (not a table it only adds columns to).
            if grant.tables:
                relations: dict[str, resources.Table | resources.View] = {
                    name: r for name, r in component.tables.items() if module.declared_table(name).owned}
                relations |= component.views
                touching = args.tables.touching
                for name, relation in sorted(relations.items()):
                    self._grant(f"{grant.module}: {grant.role} on {module.schema}.{name}", role, module.schema,
                                "table", _upper(grant.tables), acl=("relation", module.schema, name),
                                objects=[relation.name],
                                depends_on=[relation, *touching.get((module.schema, name), [])])
            if grant.functions:
                for key, function in sorted(component.functions.items()):
                    name = key.rpartition(".")[2]
                    self._grant(f"{grant.module}: {grant.role} on function {key}", role, module.schema, "function",
                                _upper(grant.functions), acl=("function", module.schema, name),
                                objects=[function.name], depends_on=[function])

        for (schema, role_name), rights in sorted(per_schema.items()):
            role = args.role_names[role_name]
            waits = list(prerequisites.get(schema, {}))
            if rights.schema:
                self._grant(f"{schema}: {role_name} on schema", role, schema, "schema", _upper(rights.schema),
                            acl=("schema", schema), depends_on=waits)
            if rights.sequences:
                self._grant(f"{schema}: {role_name} on sequences", role, schema, "sequence",
                            _upper(rights.sequences), acl=("sequences", schema), depends_on=waits + tables[schema])
            for object_type, privileges in (("table", rights.tables), ("sequence", rights.sequences),
                                            ("function", rights.functions)):
                if privileges:
                    acl = ("default privileges", schema, object_type)
                    self._chains.record(acl, postgresql.DefaultPrivileges(
                        f"{schema}: {role_name} on future {object_type}s", database=self._database, owner=args.owner,
                        role=role, schema=schema, object_type=object_type, privileges=_upper(privileges),
                        opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(
                            depends_on=waits + self._chains.after(acl)))))
        self.register_outputs({})

    def _grant(self, name: str, role, schema: str, object_type: str, privileges: list[str], acl: tuple[str, ...],
               objects=None, depends_on: list[pulumi.Resource] | None = None) -> None:
        extra = pulumi.ResourceOptions(depends_on=(depends_on or []) + self._chains.after(acl))
        self._chains.record(acl, postgresql.Grant(
            name, database=self._database, role=role, schema=schema, object_type=object_type,
            privileges=privileges, objects=objects, opts=pulumi.ResourceOptions.merge(self._opts, extra)))
