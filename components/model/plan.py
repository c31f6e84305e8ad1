"""Plans: the ordered DDL steps that take an object from one definition to another.

Each step says what it does in words and which hazards it carries, so the provider can refuse
the dangerous ones (DATA_LOSS unless the stack allows it) and run the rest in one transaction.
Plans compare inputs (dicts), the form stored in Pulumi state.
"""

from dataclasses import dataclass, field
from typing import LiteralString

from psycopg import sql

from .. import PgstackError
from . import render
from .objects import extends_only
from .types import is_widening

DATA_LOSS = "data loss"
TABLE_REWRITE = "table rewrite"
FULL_SCAN = "full table scan under lock"
INDEX_BUILD = "index build (blocks writes unless concurrent)"


class PlanRefused(PgstackError):
    """The change has no ALTER in PostgreSQL and replacing the object would lose its data."""


@dataclass
class Step:
    description: str
    statement: sql.Composable
    hazards: list[str] = field(default_factory=list)
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block.
    transactional: bool = True
    # Run as the object's owner role (SET ROLE), like every change; a handover to the owner
    # runs as the deploying user, who holds the object before it.
    as_owner: bool = True


def _by_name(items: list[dict] | None) -> dict[str, dict]:
    return {item["name"]: item for item in items or []}


# --- tables ------------------------------------------------------------------------------------

def create_table(table: dict) -> list[Step]:
    name = f"{table['schema']}.{table['name']}"
    if extends_only(table):
        steps = [_add_column(table, c) for c in table.get("columns", [])]
        steps += [_add_constraint(table, c) for c in table.get("constraints", [])]
    else:
        steps = [Step(f"create table {name}", render.create_table(table))]
        if table.get("comment") is not None:
            steps.append(Step(f"comment on table {name}", render.comment_on_table(table, table["comment"])))
        steps += _rls_steps(table, {"rls_enabled": False, "rls_forced": False})
    steps += [Step(f"comment on column {name}.{c['name']}", render.comment_on_column(table, c["name"], c["comment"]))
              for c in table.get("columns", []) if c.get("comment") is not None]
    return steps


def drop_table(table: dict) -> list[Step]:
    name = f"{table['schema']}.{table['name']}"
    if extends_only(table):
        return [_drop_column(table, c["name"]) for c in table.get("columns", [])]
    return [Step(f"drop table {name} and all its rows",
                 sql.SQL("DROP TABLE {}").format(render.qualified(table["schema"], table["name"])), [DATA_LOSS])]


def _add_column(table: dict, column: dict) -> Step:
    hazards = [TABLE_REWRITE] if column.get("identity") else []
    return Step(f"add column {table['name']}.{column['name']}",
                render.alter_table(table, sql.SQL("ADD COLUMN {}").format(render.column_definition(column))), hazards)


def _drop_column(table: dict, column: str) -> Step:
    return Step(f"drop column {table['schema']}.{table['name']}.{column} and its data",
                render.alter_table(table, sql.SQL("DROP COLUMN {}").format(sql.Identifier(column))), [DATA_LOSS])


def _add_constraint(table: dict, constraint: dict) -> Step:
    hazards = [FULL_SCAN] if constraint.get("kind") in ("check", "foreign_key") else []
    if constraint.get("kind") in ("primary_key", "unique"):
        hazards = [INDEX_BUILD]
    return Step(f"add constraint {constraint['name']} on {table['name']}",
                render.alter_table(table, sql.SQL("ADD {}").format(render.constraint_definition(constraint))), hazards)


def _drop_constraint(table: dict, name: str) -> Step:
    return Step(f"drop constraint {name} on {table['name']}",
                render.alter_table(table, sql.SQL("DROP CONSTRAINT IF EXISTS {}").format(sql.Identifier(name))))


def _alter_column(table: dict, old: dict, new: dict) -> list[Step]:
    name, col = f"{table['name']}.{new['name']}", sql.Identifier(new["name"])
    steps = []

    def alter(description: str, clause: LiteralString, *args: sql.Composable, hazards: list[str] | None = None) -> None:
        statement = render.alter_table(table, sql.SQL("ALTER COLUMN {} " + clause).format(col, *args))
        steps.append(Step(description, statement, hazards or []))

    if old.get("identity") != new.get("identity"):
        if old.get("identity"):
            alter(f"drop identity of {name}", "DROP IDENTITY")
        if new.get("identity"):
            alter(f"make {name} an identity column", "ADD GENERATED {} AS IDENTITY", sql.SQL(new["identity"].upper()))
    if old.get("type") != new.get("type"):
        hazards = [TABLE_REWRITE]
        if not is_widening(old.get("type", ""), new["type"]):
            hazards.append(DATA_LOSS)
        alter(f"change type of {name} from {old.get('type')} to {new['type']}", "TYPE {} USING {}::{}",
              sql.SQL(new["type"]), col, sql.SQL(new["type"]), hazards=hazards)
    if old.get("default") != new.get("default"):
        if new.get("default") is None:
            alter(f"drop default of {name}", "DROP DEFAULT")
        else:
            alter(f"set default of {name} to {new['default']}", "SET DEFAULT {}", sql.SQL(new["default"]))
    if bool(old.get("not_null")) != bool(new.get("not_null")):
        if new.get("not_null"):
            alter(f"make {name} NOT NULL (fails if it holds NULLs)", "SET NOT NULL", hazards=[FULL_SCAN])
        else:
            alter(f"allow NULL in {name}", "DROP NOT NULL")
    return steps


def _rls_steps(table: dict, old: dict) -> list[Step]:
    if extends_only(table):
        return []
    steps = []
    for key, word in (("rls_enabled", "ENABLE"), ("rls_forced", "FORCE")):
        if bool(old.get(key)) != bool(table.get(key)):
            verb = word if table.get(key) else ("DISABLE" if key == "rls_enabled" else "NO FORCE")
            steps.append(Step(f"{verb.lower()} row level security on {table['name']}",
                              render.alter_table(table, sql.SQL("{} ROW LEVEL SECURITY").format(sql.SQL(verb)))))
    return steps


def check_partitioning(old: dict, new: dict) -> None:
    """A table cannot be turned into (or out of) a partitioned table, nor change its partition
    key, with ALTER: only a new table and a copy of the rows can. Doing that silently (drop and
    create) would lose every row, so it is refused whatever the stack's safety settings say."""
    if old.get("partition_by") != new.get("partition_by"):
        raise PlanRefused(
            f"table {new['schema']}.{new['name']} ({new.get('source', 'unknown source')}): cannot change "
            f"PARTITION BY from {old.get('partition_by') or '(not partitioned)'} to "
            f"{new.get('partition_by') or '(not partitioned)'}: PostgreSQL has no ALTER for it and "
            f"replacing the table would drop its rows. Keep the partitioning, or declare a new table "
            f"(another name) and move the data yourself.")


def alter_table(old: dict, new: dict) -> list[Step]:
    """Steps from `old` to `new`, in an order PostgreSQL accepts: constraints that go or change
    are dropped first, then columns, then constraints are (re)added once the columns exist."""
    check_partitioning(old, new)
    old_cols, new_cols = _by_name(old.get("columns")), _by_name(new.get("columns"))
    old_cons, new_cons = _by_name(old.get("constraints")), _by_name(new.get("constraints"))
    changed_cons = [n for n in new_cons if n in old_cons and old_cons[n] != new_cons[n]]
    steps = [_drop_constraint(new, n) for n in old_cons if n not in new_cons or n in changed_cons]
    steps += [_drop_column(new, n) for n in old_cols if n not in new_cols]
    steps += [_add_column(new, c) for n, c in new_cols.items() if n not in old_cols]
    for name, column in new_cols.items():
        if name in old_cols:
            steps += _alter_column(new, old_cols[name], column)
    steps += [_add_constraint(new, c) for n, c in new_cons.items() if n not in old_cons or n in changed_cons]
    if not extends_only(new) and old.get("comment") != new.get("comment"):
        steps.append(Step(f"comment on table {new['name']}", render.comment_on_table(new, new.get("comment"))))
    for name, column in new_cols.items():
        before = old_cols.get(name, {}).get("comment")
        if before != column.get("comment") and (name in old_cols or column.get("comment") is not None):
            steps.append(Step(f"comment on column {new['name']}.{name}",
                              render.comment_on_column(new, name, column.get("comment"))))
    steps += _rls_steps(new, old)
    return steps


# --- indexes -----------------------------------------------------------------------------------

def create_index(index: dict, concurrently: bool) -> list[Step]:
    # PostgreSQL cannot build or drop an index on a partitioned table CONCURRENTLY.
    concurrently = concurrently and not index.get("partitioned")
    return [Step(f"create index {index['name']} on {index['table']}", render.create_index(index, concurrently),
                 [] if concurrently else [INDEX_BUILD], transactional=not concurrently)]


def drop_index(index: dict, concurrently: bool) -> list[Step]:
    concurrently = concurrently and not index.get("partitioned")
    return [Step(f"drop index {index['name']}", render.drop_index(index, concurrently), transactional=not concurrently)]


# --- partitions (declared from stack config, see model/partitions.py) -------------------------

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


# --- policies ----------------------------------------------------------------------------------

def create_policy(policy: dict) -> list[Step]:
    return [Step(f"create policy {policy['name']} on {policy['table']}", render.create_policy(policy))]


def drop_policy(policy: dict) -> list[Step]:
    return [Step(f"drop policy {policy['name']} on {policy['table']}", render.drop_policy(policy))]


def alter_policy(old: dict, new: dict) -> list[Step]:
    # ALTER POLICY cannot change FOR/AS nor remove a USING or WITH CHECK clause: in those cases
    # the policy is dropped and created again, in the same transaction, so no query sees a gap.
    removes_clause = any(old.get(k) and not new.get(k) for k in ("using", "with_check"))
    if old.get("command") != new.get("command") or old.get("permissive") != new.get("permissive") or removes_clause:
        return drop_policy(old) + create_policy(new)
    return [Step(f"alter policy {new['name']} on {new['table']}", render.alter_policy(new))]


# --- functions, triggers, views: CREATE OR REPLACE ---------------------------------------------

def create_or_replace(kind: str, obj: dict) -> list[Step]:
    return [Step(f"create or replace {kind} {obj['schema']}.{obj['name']}", sql.SQL(obj["definition"]))]


def drop_function(function: dict) -> list[Step]:
    return [Step(f"drop function {function['name']}({function.get('arguments', '')})", render.drop_function(function))]


def drop_trigger(trigger: dict) -> list[Step]:
    return [Step(f"drop trigger {trigger['name']} on {trigger['table']}", render.drop_trigger(trigger))]


def drop_view(view: dict) -> list[Step]:
    return [Step(f"drop view {view['schema']}.{view['name']}", render.drop_view(view))]


# --- ownership ---------------------------------------------------------------------------------

def change_owner(kind: str, obj: dict) -> Step:
    return Step(f"hand {kind} {obj['schema']}.{obj['name']} over to owner {obj['owner']}",
                render.alter_owner(kind, obj), as_owner=False)
