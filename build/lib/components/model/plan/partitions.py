"""Partition plans (partitions are declared from stack config, see model/partitions.py)."""

from psycopg import sql

from .. import render
from ..hazards import DATA_LOSS
from .step import Step


def _partition_rls(partition: dict) -> Step:
    return Step(f"enable row level security on partition {partition['name']}",
                render.alter_table(partition, sql.SQL("ENABLE ROW LEVEL SECURITY")))


def create_partition(partition: dict) -> list[Step]:
    return [Step(f"create partition {partition['name']} of {partition['table']} "
                 f"[{partition['from']}, {partition['to']})", render.create_partition(partition)),
            _partition_rls(partition)]


def alter_partition(old: dict, new: dict) -> list[Step]:
    # Bounds, parent and name are replacements (kinds.PartitionProvider); only RLS drifts back.
    return [_partition_rls(new)] if old.get("rls_enabled") != new.get("rls_enabled") else []


def drop_partition(partition: dict) -> list[Step]:
    return [Step(f"drop partition {partition['schema']}.{partition['name']} and all its rows",
                 sql.SQL("DROP TABLE {}").format(render.qualified(partition["schema"], partition["name"])),
                 [DATA_LOSS])]
