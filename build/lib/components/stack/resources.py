"""The dynamic resources: one Pulumi resource type per schema object kind.

Types read as pulumi-python:dynamic/pgstack:Table, ...:Index and so on in `pulumi preview`.
Each resource's inputs are the object's normalized definition (see model/objects.py).
"""

import pulumi
from pulumi.dynamic import Resource

from ..provider import (
    EnumProvider,
    FunctionProvider,
    IndexProvider,
    MigrationProvider,
    PartitionProvider,
    PolicyProvider,
    SampleDataProvider,
    TableProvider,
    TriggerProvider,
    ViewProvider,
)


class Enum(Resource, module="pgstack", name="Enum"):
    schema: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(EnumProvider(), resource_name, props, opts)


class Table(Resource, module="pgstack", name="Table"):
    schema: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TableProvider(), resource_name, props, opts)


class Index(Resource, module="pgstack", name="Index"):
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(IndexProvider(), resource_name, props, opts)


class Policy(Resource, module="pgstack", name="Policy"):
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PolicyProvider(), resource_name, props, opts)


class Function(Resource, module="pgstack", name="Function"):
    schema: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(FunctionProvider(), resource_name, props, opts)


class Trigger(Resource, module="pgstack", name="Trigger"):
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TriggerProvider(), resource_name, props, opts)


class View(Resource, module="pgstack", name="View"):
    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(ViewProvider(), resource_name, props, opts)


class Partition(Resource, module="pgstack", name="Partition"):
    """One partition of a partitioned table (from stack config, not from SQL files)."""

    name: pulumi.Output[str]

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(PartitionProvider(), resource_name, props, opts)


class SampleData(Resource, module="pgstack", name="SampleData"):
    """A module's dev-only sample rows (sql/<module>/sample/*.sql; see model/sample_data.py)."""

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(SampleDataProvider(), resource_name, props, opts)


class Migration(Resource, module="pgstack", name="Migration"):
    """One data migration of a module, run once (sql/<module>/migrations/; see model/migrations.py)."""

    def __init__(self, resource_name: str, props: dict, opts: pulumi.ResourceOptions | None = None):
        super().__init__(MigrationProvider(), resource_name, props, opts)
