"""SchemaModule: one sql/<module>/ folder as Pulumi resources under one parent.

Ordering comes from data, not from file order: an index or policy takes its table's `name`
output, a foreign key its referenced table's, a trigger its function's, so the engine (and the
mock monitor in tests) creates and deletes them in a safe order.

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
from ..model.objects import Table
from ..model.partitions import monthly_partitions
from . import resources
from .loading import LoadedModule


@dataclass
class StackTables:
    """The table resources declared so far in the stack, beside what the model declares, so a
    later module's objects can depend on an earlier module's tables."""

    declared: DeclaredTables
    by_name: dict[tuple[str, str], resources.Table] = field(default_factory=dict)
    # Per table, the resources of any module that rewrite its catalog row besides its own
    # resource: its indexes, policies, triggers and partitions, and the tables whose foreign
    # keys reference it. A GRANT on the table rewrites that row too, so it waits for them.
    touching: dict[tuple[str, str], list[pulumi.Resource]] = field(default_factory=dict)

    def touch(self, schema: str, name: str, resource: pulumi.Resource) -> None:
        self.touching.setdefault((schema, name), []).append(resource)

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


class SchemaModule(pulumi.ComponentResource):
    def __init__(self, args: SchemaModuleArgs, opts: pulumi.ResourceOptions | None = None):
        module = args.loaded.module
        super().__init__("pgstack:index:SchemaModule", module.name, None, opts)
        self._args = args
        self._module = module
        self._child = pulumi.ResourceOptions(parent=self)
        self._prerequisites = list(args.prerequisites)  # and the module's schemas and extensions

        self.schema_name = self._schemas()
        self.tables = self._tables()
        partitions = self._partitions()
        indexes = self._indexes()
        self._policies()
        self.functions = self._functions()
        triggers = self._triggers()
        self.views = self._views()
        self._sample_data(partitions + indexes + triggers)
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

    def _after(self, depends_on: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=depends_on))

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

    def _table_inputs(self, table: Table) -> dict:
        props = table.inputs()
        props["schema"] = self.schema_name
        props.update(self._created_as(table.schema, table.name))
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
            earlier = stack_tables.by_name.get((table.schema, table.name))
            if not table.owned and earlier is not None:
                depends.append(earlier)  # created by an earlier module
            resource = resources.Table(self._named(table.schema, table.name), self._table_inputs(table),
                                       self._after(depends))
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
                             owner=self._args.owner)
                partitions.append(resources.Partition(self._named(partition.schema, partition.name), props,
                                                      self._child))
                self._args.tables.touch(self._module.schema, spec.table, partitions[-1])
        return partitions

    def _indexes(self) -> list[pulumi.Resource]:
        indexes: list[pulumi.Resource] = []
        for index in self._module.indexes:
            props = dict(index.inputs(), table=self._args.tables.output(index.schema, index.table),
                         **self._created_as(index.schema, index.table))
            indexes.append(resources.Index(self._named(index.schema, index.name), props, self._child))
            self._args.tables.touch(index.schema, index.table, indexes[-1])
        return indexes

    def _policies(self) -> None:
        for policy in self._module.policies:
            # Created as the connecting user (a member of the owner, so allowed to): a policy has
            # no owner, and its expression may call functions the owner cannot reach, such as
            # Supabase's auth.uid() (schema auth grants USAGE to postgres, not to other roles).
            props = dict(policy.inputs(), table=self._args.tables.output(policy.schema, policy.table))
            self._args.tables.touch(policy.schema, policy.table, resources.Policy(
                self._named(policy.schema, policy.table, policy.name), props, self._child))

    def _functions(self) -> dict[str, resources.Function]:
        functions = {}
        depends = list(self.tables.values()) + self._prerequisites
        for function in self._module.functions:
            functions[f"{function.schema}.{function.name}"] = resources.Function(
                self._named(function.schema, f"{function.name}({function.arguments})"),
                dict(function.inputs(), owner=self._args.owner), self._after(depends))
        return functions

    def _triggers(self) -> list[pulumi.Resource]:
        triggers: list[pulumi.Resource] = []
        for trigger in self._module.triggers:
            props = dict(trigger.inputs(), table=self._args.tables.output(trigger.schema, trigger.table),
                         **self._created_as(trigger.schema, trigger.table))
            function = self.functions.get(trigger.function)
            triggers.append(resources.Trigger(self._named(trigger.schema, trigger.table, trigger.name), props,
                                              self._after([function] if function else [])))
            self._args.tables.touch(trigger.schema, trigger.table, triggers[-1])
        return triggers

    def _views(self) -> dict[str, resources.View]:
        views = {}
        for view in self._module.views:
            depends = [self.tables[t] for t in view.tables] + list(self.functions.values())
            views[view.name] = resources.View(self._named(view.schema, view.name),
                                              dict(view.inputs(), owner=self._args.owner), self._after(depends))
        return views

    def _sample_data(self, module_objects: list[pulumi.Resource]) -> None:
        sample = self._args.loaded.sample_data
        if sample is None:
            return
        # Inserted once the module is in place: every table and monthly partition (rows land
        # in their month), the indexes a conflict may be decided on, the triggers that fire.
        resources.SampleData(self._named(self._module.schema, "sample_data"),
                             dict(sample.inputs(), schema=self.schema_name, module=self._module.name,
                                  owner=self._args.owner),
                             self._after(list(self.tables.values()) + module_objects))
