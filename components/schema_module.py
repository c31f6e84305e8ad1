"""SchemaModule: one sql/<module>/ folder as Pulumi resources under one parent.

Ordering comes from data, not from file order: an index or policy takes its table's `name`
output, a foreign key its referenced table's, a trigger its function's, so the engine (and the
mock monitor in tests) creates and deletes them in a safe order.

Every object the stack creates names the stack's owner role (`owner`, the owner Role's `name`
output): the provider creates it as that role. Objects on a table that exists outside the stack
(an external table the module only extends) are created as the connecting user instead, who
owns or administers that table.
"""

from datetime import date, datetime, timezone

import pulumi
import pulumi_postgresql as postgresql

from . import resources
from .model.objects import Module, Table
from .model.partitions import monthly_partitions
from .settings import ModuleConfig


class TableRegistry:
    """Table resources declared so far in the stack, so later modules can depend on them."""

    def __init__(self):
        self._tables: dict[tuple[str, str], resources.Table] = {}
        self._created: set[tuple[str, str]] = set()

    def get(self, schema: str, name: str) -> resources.Table | None:
        return self._tables.get((schema, name))

    def created(self, schema: str, name: str) -> bool:
        """Whether a module of the stack creates (and so owns) the table."""
        return (schema, name) in self._created

    def add(self, table: Table, resource: resources.Table) -> None:
        # A module that only extends a table registers too: its columns are what later
        # modules' indexes and foreign keys may need.
        self._tables[(table.schema, table.name)] = resource
        if table.managed == "table":
            self._created.add((table.schema, table.name))


def _table_order(module: Module) -> list[Table]:
    """Tables with the ones they reference first (the parser has rejected cycles)."""
    done: list[Table] = []

    def visit(table: Table) -> None:
        if table in done:
            return
        for constraint in table.constraints:
            ref = constraint.references
            target = module.table(ref.table) if ref and ref.schema == table.schema else None
            if target is not None and target is not table:
                visit(target)
        done.append(table)

    for table in module.tables:
        visit(table)
    return done


class SchemaModule(pulumi.ComponentResource):
    def __init__(self, module: Module, config: ModuleConfig, registry: TableRegistry,
                 pg_provider: postgresql.Provider, owner: pulumi.Input[str],
                 prerequisites: list[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None,
                 today: date | None = None):
        """`prerequisites`: what every table waits for (the roles its policies name, the owner's
        rights on the schema, the auth functions); everything else waits for its table."""
        super().__init__("pgstack:index:SchemaModule", module.name, None, opts)
        pg_opts = pulumi.ResourceOptions(parent=self, provider=pg_provider)

        def named(*parts: str) -> str:
            # Resource names carry the module: two modules may both touch public.leads (one
            # creates it, one adds columns), and URNs must stay unique.
            return f"{module.name}/" + ".".join(parts)

        child = pulumi.ResourceOptions(parent=self)
        prerequisites = list(prerequisites)

        schema_name: pulumi.Input[str] = module.schema
        if config.create_schema:
            schema = postgresql.Schema(named(module.schema), name=module.schema, owner=owner, opts=pg_opts)
            schema_name = schema.name
            prerequisites.append(schema)
        for extra in module.schemas:
            prerequisites.append(postgresql.Schema(named(extra.name), name=extra.name, owner=owner, opts=pg_opts))
        for ext in module.extensions:
            prerequisites.append(postgresql.Extension(named(ext.name), name=ext.name, schema=ext.schema, opts=pg_opts))

        own: dict[str, resources.Table] = {}

        def table_output(schema: str, name: str):
            """The table's `name` output when the stack declares it (a data dependency), else
            the plain name of a table that exists outside the stack."""
            found = own.get(name) if schema == module.schema else None
            found = found or registry.get(schema, name)
            return found.name if found is not None else name

        def created_as(schema: str, table: str) -> dict:
            """`owner` for an object on `table` when the stack owns the table, else nothing."""
            own_table = schema == module.schema and module.table(table) is not None and module.table(table).managed == "table"
            return {"owner": owner} if own_table or registry.created(schema, table) else {}

        for table in _table_order(module):
            props = table.inputs()
            props["schema"] = schema_name
            props.update(created_as(table.schema, table.name))
            for constraint in props.get("constraints", []):
                ref = constraint.get("references")
                if ref and not (ref["schema"] == table.schema and ref["table"] == table.name):
                    ref["table"] = table_output(ref["schema"], ref["table"])
            depends = list(prerequisites)
            if table.managed == "columns" and registry.get(table.schema, table.name):
                depends.append(registry.get(table.schema, table.name))  # created by an earlier module
            resource = resources.Table(named(table.schema, table.name), props,
                                       pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)))
            own[table.name] = resource

        for table in module.tables:
            registry.add(table, own[table.name])

        # Monthly partitions from stack config (modules[i].partitions), each waiting for its
        # table's name output. The months run from the fixed `start` to today + `ahead`, so a
        # later run only ever adds partitions (see model/partitions.py).
        today = today or datetime.now(timezone.utc).date()
        partitions = []
        for spec in config.partitions:
            for partition in monthly_partitions(module.table(spec.table), spec.start, spec.ahead, today,
                                                source=f"pgstack:{spec.key}"):
                props = dict(partition.inputs(), schema=schema_name, table=own[spec.table].name, owner=owner)
                partitions.append(resources.Partition(named(partition.schema, partition.name), props, child))

        indexes = []
        for index in module.indexes:
            props = dict(index.inputs(), table=table_output(index.schema, index.table), **created_as(index.schema, index.table))
            indexes.append(resources.Index(named(index.schema, index.name), props, child))

        for policy in module.policies:
            # Created as the connecting user (a member of the owner, so allowed to): a policy has
            # no owner, and its expression may call functions the owner cannot reach, such as
            # Supabase's auth.uid() (schema auth grants USAGE to postgres, not to other roles).
            props = dict(policy.inputs(), table=table_output(policy.schema, policy.table))
            resources.Policy(named(policy.schema, policy.table, policy.name), props, child)

        functions = {}
        for function in module.functions:
            functions[f"{function.schema}.{function.name}"] = resources.Function(
                named(function.schema, f"{function.name}({function.arguments})"), dict(function.inputs(), owner=owner),
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(own.values()) + prerequisites)))

        triggers = []
        for trigger in module.triggers:
            props = dict(trigger.inputs(), table=table_output(trigger.schema, trigger.table),
                         **created_as(trigger.schema, trigger.table))
            depends = [functions[trigger.function]] if trigger.function in functions else []
            triggers.append(resources.Trigger(named(trigger.schema, trigger.table, trigger.name), props,
                            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends))))

        views = {}
        for view in module.views:
            depends = [own[t] for t in view.tables] + list(functions.values())
            views[view.name] = resources.View(named(view.schema, view.name), dict(view.inputs(), owner=owner),
                           pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)))

        if module.sample_data is not None:
            # Inserted once the module is in place: every table and monthly partition (rows land
            # in their month), the indexes a conflict may be decided on, the triggers that fire.
            depends = list(own.values()) + partitions + indexes + triggers
            resources.SampleData(named(module.schema, "sample_data"),
                                 dict(module.sample_data.inputs(), schema=schema_name, module=module.name, owner=owner),
                                 pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)))

        self.tables = own
        self.functions = functions
        self.views = views
        self.schema_name = schema_name
        self.register_outputs({"schema": schema_name, "tables": sorted(own)})
