"""SchemaModule: one sql/<module>/ folder as Pulumi resources under one parent.

Ordering comes from data, not from file order: an index or policy takes its table's `name`
output, a foreign key its referenced table's, a trigger its function's, so the engine (and the
mock monitor in tests) creates and deletes them in a safe order. Enum types come first: every
object of the module waits for the module's enums, and a table also for the enums of earlier
modules its columns use. So a value an enum gains is committed (its own resource, its own
transaction) before a default, check or policy that uses it is applied.

Every object the stack creates names the stack's owner role (`owner`, the owner Role's `name`
output): the provider creates it as that role. Objects on a table that exists outside the stack
(an external table the module only extends) are created as the connecting user instead, who
owns or administers that table.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pulumi
import pulumi_postgresql as postgresql

from ..model.declared import DeclaredTables
from ..model.hazards import DATA_LOSS
from ..model.objects import Table
from ..model.partitions import monthly_partitions
from . import resources
from .loading import LoadedModule


@dataclass
class StackTables:
    """The table and enum resources declared so far in the stack, beside what the model
    declares, so a later module's objects can depend on an earlier module's tables and enums."""

    declared: DeclaredTables
    by_name: dict[tuple[str, str], resources.Table] = field(default_factory=dict)
    enums: dict[tuple[str, str], resources.Enum] = field(default_factory=dict)
    views: dict[tuple[str, str], resources.View] = field(default_factory=dict)
    # Per table, the resources of any module that rewrite its catalog row besides its own
    # resource: its indexes, policies, triggers and partitions, and the tables whose foreign
    # keys reference it. A GRANT on the table rewrites that row too, so it waits for them.
    touching: dict[tuple[str, str], list[pulumi.Resource]] = field(default_factory=dict)

    def touch(self, schema: str, name: str, resource: pulumi.Resource) -> None:
        self.touching.setdefault((schema, name), []).append(resource)

    def relation(self, schema: str, name: str) -> pulumi.Resource | None:
        """The resource of a table or view the stack declares (None: outside the stack)."""
        return self.by_name.get((schema, name)) or self.views.get((schema, name))

    def output(self, schema: str, name: str) -> pulumi.Input[str]:
        """The table's `name` output when the stack declares it (a data dependency), else the
        plain name of a table that exists outside the stack."""
        found = self.by_name.get((schema, name))
        return found.name if found is not None else name


@dataclass(frozen=True)
class SchemaModuleArgs:
    loaded: LoadedModule
    tables: StackTables
    pg_provider: postgresql.Provider
    owner: pulumi.Input[str]
    # What every table waits for: the roles its policies name, the owner's rights on the
    # schema, the auth functions. Everything else waits for its table.
    prerequisites: tuple[pulumi.Resource, ...] = ()
    today: date | None = None  # which monthly partitions exist; tests inject it
    # Whether the stack accepts losing data (safety); else data-bearing resources are protected,
    # so removing one fails the preview before anything is touched.
    data_loss_accepted: bool = True
    # The roles stack config grants TRIGGER on the module's tables (with a written reason): a
    # table's read does not report theirs as drift.
    trigger_grantees: tuple[str, ...] = ()


class SchemaModule(pulumi.ComponentResource):
    def __init__(self, args: SchemaModuleArgs, opts: pulumi.ResourceOptions | None = None):
        module = args.loaded.module
        super().__init__("pgstack:index:SchemaModule", module.name, None, opts)
        self._args = args
        self._module = module
        self._child = pulumi.ResourceOptions(parent=self)
        self._prerequisites = list(args.prerequisites)  # and the module's schemas and extensions

        self.schema_name = self._schemas()
        self.enums = self._enums()
        self.tables = self._tables()
        partitions = self._partitions()
        indexes = self._indexes()
        self._policies()
        self.functions = self._functions()
        triggers = self._triggers()
        self.views = self._views()
        migrations = self._migrations(partitions + indexes + triggers + list(self.views.values()))
        self._sample_data(partitions + indexes + triggers + migrations)
        self.register_outputs({"schema": self.schema_name, "tables": sorted(self.tables)})

    # --- helpers -----------------------------------------------------------------------------

    @property
    def prerequisites(self) -> list[pulumi.Resource]:
        """What every table of the module waits for: the stack's roles and the owner's rights,
        the module's schemas and extensions."""
        return list(self._prerequisites)

    def _named(self, *parts: str) -> str:
        # Resource names carry the module: two modules may both touch public.leads (one
        # creates it, one adds columns), and URNs must stay unique.
        return f"{self._module.name}/" + ".".join(parts)

    def _protected(self, approved: dict | None) -> pulumi.ResourceOptions:
        """`protect` for a resource that holds rows, unless the stack or its SQL file (an
        `approve data_loss` annotation, applied by one `up` before the statement is removed)
        accepts losing them."""
        accepted = self._args.data_loss_accepted or DATA_LOSS.name in (approved or {})
        return pulumi.ResourceOptions(protect=not accepted)

    def _after(self, depends_on: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends_on))

    def _on_table(self, schema: str, table: str, *name: str) -> tuple[dict, pulumi.ResourceOptions]:
        """For an object on `table`: its inputs that say whether the table was renamed (it then
        follows the table instead of being replaced) and the alias of its resource name."""
        own = self._module.table(table) if schema == self._module.schema else None
        if own is None or not own.renamed_from:
            return {}, self._child
        alias = pulumi.Alias(name=self._named(schema, own.renamed_from, *name)) if name else None
        return ({"table_renamed_from": own.renamed_from},
                pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(aliases=[alias] if alias else [])))

    def _adopting(self, table: Table | None = None) -> dict:
        """`adopt` for an object of a module that adopts existing objects (modules[i].adopt), else
        nothing. A table's carries the names of what the module declares on it, so adopting the
        table refuses an index, policy or trigger the files leave out."""
        if not self._args.loaded.config.adopt:
            return {}
        if table is None:
            return {"adopt": True}
        module = self._module
        return {"adopt": {
            "indexes": [i.name for i in module.indexes if i.table == table.name],
            "policies": [p.name for p in module.policies if p.table == table.name],
            "triggers": [t.name for t in module.triggers if t.table == table.name],
        }}

    def _writing(self, tables: list[str]) -> dict:
        """What a resource that runs DML on the module's `tables` (sample data, a data migration)
        is given besides its statements: `owner`, the role it runs as, when the stack owns every
        one of them (otherwise it runs as the connecting user, who may write a table the module
        only extends, and `external_tables` names those), and the triggers the stack declares on
        them. The one place both kinds get it from."""
        schema, declared = self._module.schema, self._args.tables.declared
        external = sorted({t for t in tables if not declared.owned_by_stack(schema, t)})
        # The triggers the stack declares on them: any other on a table the stack creates is
        # refused before the first row is written (trigger_guard.py).
        triggers = [dict(trigger, table=table) for table in sorted(set(tables) - set(external))
                    for trigger in declared.triggers_on(schema, table)]
        return {**({"owner": self._args.owner} if not external else {"external_tables": external}),
                **({"triggers": triggers} if triggers else {})}

    def _created_as(self, schema: str, table: str) -> dict:
        """`owner` for an object on `table` when the stack owns the table, else nothing."""
        return {"owner": self._args.owner} if self._args.tables.declared.owned_by_stack(schema, table) else {}

    # --- one method per kind -----------------------------------------------------------------

    def _schemas(self) -> pulumi.Input[str]:
        module, owner = self._module, self._args.owner
        # After the roles: ALTER SCHEMA ... OWNER TO needs the deploying user's membership in
        # the owner where that user is not a superuser (Supabase's postgres).
        pg_opts = pulumi.ResourceOptions(parent=self, provider=self._args.pg_provider,
                                         depends_on=list(self._args.prerequisites))
        schema_name: pulumi.Input[str] = module.schema
        if self._args.loaded.config.create_schema:
            schema = postgresql.Schema(self._named(module.schema), name=module.schema, owner=owner, opts=pg_opts)
            schema_name = schema.name
            self._prerequisites.append(schema)
        for extra in module.schemas:
            self._prerequisites.append(postgresql.Schema(self._named(extra.name), name=extra.name, owner=owner,
                                                         opts=pg_opts))
        for ext in self._args.loaded.extensions:
            self._prerequisites.append(postgresql.Extension(self._named(ext.name), name=ext.name, schema=ext.schema,
                                                            opts=pg_opts))
        return schema_name

    def _enums(self) -> dict[str, resources.Enum]:
        enums = {}
        for enum in self._module.enums:
            resource = resources.Enum(self._named(enum.schema, enum.name),
                                      dict(enum.inputs(), schema=self.schema_name, owner=self._args.owner),
                                      self._after(list(self._prerequisites)))
            enums[enum.name] = resource
            self._args.tables.enums[(enum.schema, enum.name)] = resource
        self._prerequisites += enums.values()  # everything else of the module waits for them
        return enums

    def _table_inputs(self, table: Table) -> dict:
        props = table.inputs()
        props["schema"] = self.schema_name
        props.update(self._created_as(table.schema, table.name), **self._adopting(table))
        if table.owned:
            # What may run code on it, so that its read reports anything else (trigger_guard.py).
            triggers = self._args.tables.declared.triggers_on(table.schema, table.name)
            if triggers:
                props["triggers"] = triggers
            if self._args.trigger_grantees:
                props["trigger_grantees"] = sorted(self._args.trigger_grantees)
        for constraint in props.get("constraints", []):
            ref = constraint.get("references")
            if ref and not (ref["schema"] == table.schema and ref["table"] == table.name):
                ref["table"] = self._args.tables.output(ref["schema"], ref["table"])
        return props

    def _tables(self) -> dict[str, resources.Table]:
        stack_tables = self._args.tables
        own: dict[str, resources.Table] = {}
        for table in self._module.tables_in_dependency_order():
            depends = list(self._prerequisites)
            depends += [stack_tables.enums[e] for e in table.enum_types if stack_tables.enums[e] not in depends]
            earlier = stack_tables.by_name.get((table.schema, table.name))
            if not table.owned and earlier is not None:
                depends.append(earlier)  # created by an earlier module
            options = pulumi.ResourceOptions.merge(self._after(depends), self._protected(table.approved))
            if table.renamed_from:  # the same resource under its new name: renamed, not replaced
                options = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(
                    aliases=[pulumi.Alias(name=self._named(table.schema, table.renamed_from))]))
            resource = resources.Table(self._named(table.schema, table.name), self._table_inputs(table), options)
            for constraint in table.constraints:
                ref = constraint.references
                if ref and (ref.schema, ref.table) != (table.schema, table.name):
                    stack_tables.touch(ref.schema, ref.table, resource)
            own[table.name] = resource
            # A module that only extends a table registers too: its columns are what later
            # modules' indexes and foreign keys may need.
            stack_tables.by_name[(table.schema, table.name)] = resource
        return own

    def _partitions(self) -> list[pulumi.Resource]:
        """Monthly partitions from stack config (modules[i].partitions), each waiting for its
        table's name output. The months run from the fixed `start` to today + `ahead`, so a
        later run only ever adds partitions (see model/partitions.py)."""
        today = self._args.today or datetime.now(UTC).date()
        partitions: list[pulumi.Resource] = []
        for spec in self._args.loaded.config.partitions:
            for partition in monthly_partitions(self._module.declared_table(spec.table), spec.start, spec.ahead, today,
                                                source=f"pgstack:{spec.key}"):
                props = dict(partition.inputs(), schema=self.schema_name, table=self.tables[spec.table].name,
                             owner=self._args.owner, **self._adopting())
                partitions.append(resources.Partition(self._named(partition.schema, partition.name), props,
                                                      pulumi.ResourceOptions.merge(self._child, self._protected(None))))
                self._args.tables.touch(self._module.schema, spec.table, partitions[-1])
        return partitions

    def _indexes(self) -> list[pulumi.Resource]:
        indexes: list[pulumi.Resource] = []
        for index in self._module.indexes:
            renamed, options = self._on_table(index.schema, index.table)
            props = dict(index.inputs(), table=self._args.tables.output(index.schema, index.table),
                         **self._created_as(index.schema, index.table), **renamed, **self._adopting())
            indexes.append(resources.Index(self._named(index.schema, index.name), props, options))
            self._args.tables.touch(index.schema, index.table, indexes[-1])
        return indexes

    def _policies(self) -> None:
        for policy in self._module.policies:
            # Created as the connecting user (a member of the owner, so allowed to): a policy has
            # no owner, and its expression may call functions the owner cannot reach, such as
            # Supabase's auth.uid() (schema auth grants USAGE to postgres, not to other roles).
            renamed, options = self._on_table(policy.schema, policy.table, policy.name)
            props = dict(policy.inputs(), table=self._args.tables.output(policy.schema, policy.table), **renamed,
                         **self._adopting())
            self._args.tables.touch(policy.schema, policy.table, resources.Policy(
                self._named(policy.schema, policy.table, policy.name), props, options))

    def _functions(self) -> dict[str, resources.Function]:
        functions = {}
        depends = list(self.tables.values()) + self._prerequisites
        for function in self._module.functions:
            functions[f"{function.schema}.{function.name}"] = resources.Function(
                self._named(function.schema, f"{function.name}({function.arguments})"),
                dict(function.inputs(), owner=self._args.owner, **self._adopting()), self._after(depends))
        return functions

    def _triggers(self) -> list[pulumi.Resource]:
        triggers: list[pulumi.Resource] = []
        for trigger in self._module.triggers:
            renamed, options = self._on_table(trigger.schema, trigger.table, trigger.name)
            props = dict(trigger.inputs(), table=self._args.tables.output(trigger.schema, trigger.table),
                         **self._created_as(trigger.schema, trigger.table), **renamed, **self._adopting())
            function = self.functions.get(trigger.function)
            triggers.append(resources.Trigger(self._named(trigger.schema, trigger.table, trigger.name), props,
                                              pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(
                                                  depends_on=[function] if function else []))))
            self._args.tables.touch(trigger.schema, trigger.table, triggers[-1])
        return triggers

    def _views(self) -> dict[str, resources.View]:
        """Each view waits for the tables and views it reads, this module's or an earlier
        module's, and for the module's functions it may call."""
        views = {}
        stack_tables = self._args.tables
        for view in self._module.views:
            reads = [found for schema, name in view.reads if (found := stack_tables.relation(schema, name))]
            views[view.name] = resources.View(self._named(view.schema, view.name),
                                              dict(view.inputs(), owner=self._args.owner, **self._adopting()),
                                              self._after(reads + list(self.functions.values())))
            stack_tables.views[(view.schema, view.name)] = views[view.name]
        return views

    def _migrations(self, module_objects: list[pulumi.Resource]) -> list[pulumi.Resource]:
        """The module's data migrations, each after the module's schema objects and the migration
        before it. Run as the owner when every table it writes is the stack's (else as the
        connecting user, who may write a table the module only extends)."""
        migrations: list[pulumi.Resource] = []
        for migration in self._args.loaded.migrations:
            props = dict(migration.inputs(), schema=self.schema_name, **self._writing(migration.tables))
            migrations.append(resources.Migration(
                self._named("migrations", migration.number), props,
                self._after(list(self.tables.values()) + module_objects + migrations[-1:])))
        return migrations

    def _sample_data(self, module_objects: list[pulumi.Resource]) -> None:
        sample = self._args.loaded.sample_data
        if sample is None:
            return
        # Inserted once the module is in place: every table and monthly partition (rows land
        # in their month), the indexes a conflict may be decided on, the triggers that fire.
        resources.SampleData(self._named(self._module.schema, "sample_data"),
                             dict(sample.inputs(), schema=self.schema_name, module=self._module.name,
                                  **self._writing([s.table for s in sample.statements])),
                             self._after(list(self.tables.values()) + module_objects))
