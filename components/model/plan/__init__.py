"""Plans: the ordered DDL steps that take an object from one definition to another.

Each step is one statement, said in words, with the hazards it really carries (model/hazards.py)
and whether it runs in the plan's transaction or on its own after it. Plans are pure: they
compare definitions (dicts, the form stored in Pulumi state); the provider reads the live
object and runs them.
"""

from .enums import alter_enum, create_enum, drop_enum
from .foreign_code import remove_foreign_code
from .indexes import change_index, create_index, drop_index, partition_index_name, rename_index, swap_name
from .partitions import alter_partition, create_partition, drop_partition
from .policies import alter_policy, create_policy, drop_policy, widens
from .routines import change_owner, create_or_replace, drop_function, drop_trigger, drop_view, replace_function
from .step import PlanRefused, Step, Timeout
from .tables import alter_table, check_partitioning, create_table, drop_table, rename_constraint, rename_table

__all__ = [
    "PlanRefused", "Step", "Timeout", "alter_enum", "alter_partition", "alter_policy", "alter_table", "change_index",
    "change_owner", "check_partitioning", "create_enum", "create_index", "create_or_replace", "create_partition",
    "create_policy", "create_table", "drop_enum", "drop_function", "drop_index", "drop_partition", "drop_policy",
    "drop_table", "drop_trigger", "drop_view", "partition_index_name", "remove_foreign_code",
    "rename_constraint", "rename_index", "rename_table", "replace_function", "swap_name",
    "widens",
]
