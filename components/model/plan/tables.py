"""Table plans: CREATE, DROP and the ALTERs from one definition to another.

With `online` (pgstack:safety online, prod), a change a busy table must survive takes the
strategies that never block writes for long:
- FOREIGN KEY and CHECK are added NOT VALID, then validated in a transaction of their own
  (VALIDATE takes a lock that lets reads and writes through);
- SET NOT NULL goes through a CHECK (col IS NOT NULL) NOT VALID, its VALIDATE, then SET NOT NULL,
  which trusts the valid check instead of scanning, and the check is dropped;
- UNIQUE and PRIMARY KEY are built as a unique index CONCURRENTLY, then attached with
  ADD CONSTRAINT ... USING INDEX.
Without it, each is the one statement that scans under its lock.
"""

from collections.abc import Mapping

from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import sql

from .. import render
from ..hazards import (
    ACCESS_EXCLUSIVE,
    AUTHORIZATION,
    DATA_LOSS,
    FULL_SCAN,
    INDEX_BUILD,
    INDEX_DROPPED,
    SHARE_LOCK,
    TABLE_REWRITE,
    Hazard,
)
from ..names import MAX_IDENTIFIER
from ..nodes import strings
from ..objects import extends_only
from ..parser import walk
from ..types import is_widening
from .step import PlanRefused, Step, Timeout

# Functions a column default may call without making ADD COLUMN rewrite the table (not
# volatile: evaluated once for the ALTER). Anything else may be volatile: then every row gets
# its own value, written by a table rewrite.
NOT_VOLATILE = frozenset({
    "now", "transaction_timestamp", "statement_timestamp", "current_setting", "lower", "upper", "btrim", "trim",
    "length", "concat", "concat_ws", "replace", "substring", "left", "right", "md5", "to_char", "to_date",
    "to_timestamp", "to_json", "to_jsonb", "jsonb_build_object", "json_build_object", "jsonb_build_array",
    "json_build_array", "array_fill", "make_interval", "make_date", "make_timestamptz", "date_trunc",
    "timezone", "abs", "round", "greatest", "least", "nullif",
})


def _by_name(items: list[dict] | None) -> dict[str, dict]:
    return {item["name"]: item for item in items or []}


def _name(table: dict) -> str:
    return f"{table['schema']}.{table['name']}"


def _alter(table: dict, clause: sql.Composable) -> sql.Composable:
    return render.alter_table(table, clause)


def may_be_volatile(expression: str) -> bool:
    """Whether a default may call a volatile function (then ADD COLUMN rewrites the table)."""
    try:
        tree = parse_sql(f"SELECT {expression}")
    except ParseError:
        return True
    return any(isinstance(node, ast.FuncCall) and strings(node.funcname)[-1].lower() not in NOT_VOLATILE
               for node in walk(tree[0].stmt))


# --- create and drop ---------------------------------------------------------------------------

def create_table(table: dict) -> list[Step]:
    """A new table (empty: nothing to lock out), or the columns a module adds to a table that
    exists outside it (a table with rows: those steps plan like any ALTER)."""
    name = _name(table)
    if extends_only(table):
        steps = [_add_column(table, c) for c in table.get("columns", [])]
        steps += [s for c in table.get("constraints", []) for s in _add_constraint(table, c, online=False)]
    else:
        steps = [Step(f"create table {name}", render.create_table(table))]
        if table.get("comment") is not None:
            steps.append(Step(f"comment on table {name}", render.comment_on_table(table, table["comment"])))
        steps += _rls_steps(table, {"rls_enabled": False, "rls_forced": False})
    steps += [Step(f"comment on column {name}.{c['name']}", render.comment_on_column(table, c["name"], c["comment"]))
              for c in table.get("columns", []) if c.get("comment") is not None]
    return steps


def drop_table(table: dict) -> list[Step]:
    if extends_only(table):
        return [_drop_column(table, c["name"]) for c in table.get("columns", [])]
    return [Step(f"drop table {_name(table)} and all its rows",
                 sql.SQL("DROP TABLE {}").format(render.qualified(table["schema"], table["name"])), [DATA_LOSS])]


# --- columns -----------------------------------------------------------------------------------

def _add_column(table: dict, column: dict) -> Step:
    rewrite = column.get("identity") or (column.get("default") is not None and may_be_volatile(column["default"]))
    return Step(f"add column {table['name']}.{column['name']}",
                _alter(table, sql.SQL("ADD COLUMN {}").format(render.column_definition(column))),
                [TABLE_REWRITE] if rewrite else [])


def _drop_column(table: dict, column: str) -> Step:
    return Step(f"drop column {_name(table)}.{column} and its data",
                _alter(table, sql.SQL("DROP COLUMN {}").format(sql.Identifier(column))), [DATA_LOSS])


def rewrites_on_type_change(old: str, new: str) -> bool:
    """Whether ALTER COLUMN TYPE rewrites the table: not for a longer varchar, varchar to
    text, or more numeric precision at the same scale (binary-coercible changes)."""
    base_old, base_new = old.split("(")[0], new.split("(")[0]
    if base_old in ("character varying", "text") and base_new in ("character varying", "text"):
        return not is_widening(old, new)
    if base_old == base_new == "numeric" and is_widening(old, new):
        return old.partition(",")[2] != new.partition(",")[2]
    return True


def _not_null_check(table: dict, column: str) -> str:
    return f"{table['name']}_{column}_pgstack_not_null"[:MAX_IDENTIFIER]


def _set_not_null(table: dict, column: str, online: bool) -> list[Step]:
    name, col = f"{table['name']}.{column}", sql.Identifier(column)
    if not online:
        return [Step(f"make {name} NOT NULL (scans the table; fails if it holds NULLs)",
                     _alter(table, sql.SQL("ALTER COLUMN {} SET NOT NULL").format(col)), [FULL_SCAN, ACCESS_EXCLUSIVE])]
    check = sql.Identifier(_not_null_check(table, column))
    return [
        Step(f"check {name} IS NOT NULL for new rows (NOT VALID)", _alter(table, sql.SQL(
            "DROP CONSTRAINT IF EXISTS {check}, ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) NOT VALID").format(
                check=check, col=col))),
        Step(f"validate that {name} holds no NULL (reads and writes continue)",
             _alter(table, sql.SQL("VALIDATE CONSTRAINT {}").format(check)), transactional=False,
             timeout=Timeout.BUILD),
        Step(f"make {name} NOT NULL (trusts the validated check: no scan)",
             _alter(table, sql.SQL("ALTER COLUMN {} SET NOT NULL").format(col)), transactional=False),
        Step(f"drop the check that stood in for NOT NULL on {name}",
             _alter(table, sql.SQL("DROP CONSTRAINT {}").format(check)), transactional=False),
    ]


def _change_type(table: dict, old: dict, new: dict) -> Step:
    col, name = sql.Identifier(new["name"]), f"{table['name']}.{new['name']}"
    before, after = old.get("type", ""), new["type"]
    hazards: list[Hazard] = [TABLE_REWRITE] if rewrites_on_type_change(before, after) else []
    if not is_widening(before, after):
        hazards.append(DATA_LOSS)
    clause = sql.SQL("ALTER COLUMN {} TYPE {}").format(col, sql.SQL(after))
    if hazards:  # a cast for a real conversion; a binary-coercible one needs none (and no rewrite)
        clause = sql.SQL("{} USING {}::{}").format(clause, col, sql.SQL(after))
    return Step(f"change type of {name} from {before} to {after}", _alter(table, clause), hazards)


def _alter_column(table: dict, old: dict, new: dict, online: bool) -> list[Step]:
    name, col = f"{table['name']}.{new['name']}", sql.Identifier(new["name"])
    steps = []

    def alter(description: str, clause: sql.Composable, hazards: list[Hazard] | None = None) -> None:
        steps.append(Step(description, _alter(table, sql.SQL("ALTER COLUMN {} {}").format(col, clause)), hazards or []))

    if old.get("identity") != new.get("identity"):
        if old.get("identity"):
            alter(f"drop identity of {name}", sql.SQL("DROP IDENTITY"))
        if new.get("identity"):
            alter(f"make {name} an identity column",
                  sql.SQL("ADD GENERATED {} AS IDENTITY").format(sql.SQL(new["identity"].upper())))
    old_default = old.get("default")
    if old.get("type") != new.get("type"):
        # A default would be cast to the new type, which fails where no cast exists (text to
        # an enum) and otherwise keeps depending on the old type (an enum could then not be
        # dropped): it goes first, and the declared one is set after.
        if old_default is not None:
            alter(f"drop default of {name} before its type changes", sql.SQL("DROP DEFAULT"))
            old_default = None
        steps.append(_change_type(table, old, new))
    if old_default != new.get("default"):
        if new.get("default") is None:
            alter(f"drop default of {name}", sql.SQL("DROP DEFAULT"))
        else:
            alter(f"set default of {name} to {new['default']}",
                  sql.SQL("SET DEFAULT {}").format(sql.SQL(new["default"])))
    if bool(old.get("not_null")) != bool(new.get("not_null")):
        if new.get("not_null"):
            steps += _set_not_null(table, new["name"], online)
        else:
            alter(f"allow NULL in {name}", sql.SQL("DROP NOT NULL"))
    return steps


# --- constraints -------------------------------------------------------------------------------

def _add_constraint(table: dict, constraint: dict, online: bool) -> list[Step]:
    kind, name = constraint.get("kind"), constraint["name"]
    label = f"{kind.replace('_', ' ') if kind else 'constraint'} {name} on {table['name']}"
    definition = render.constraint_definition(constraint)
    if kind in ("check", "foreign_key"):
        if not online:
            hazards = [FULL_SCAN, SHARE_LOCK] if kind == "foreign_key" else [FULL_SCAN, ACCESS_EXCLUSIVE]
            return [Step(f"add {label} (checks every row)", _alter(table, sql.SQL("ADD {}").format(definition)),
                         hazards)]
        return [Step(f"add {label} for new rows (NOT VALID)",
                     _alter(table, sql.SQL("ADD {} NOT VALID").format(definition))),
                Step(f"validate {label} on existing rows (reads and writes continue)",
                     _alter(table, sql.SQL("VALIDATE CONSTRAINT {}").format(sql.Identifier(name))),
                     transactional=False, timeout=Timeout.BUILD)]
    if kind in ("primary_key", "unique"):
        if not online:
            return [Step(f"add {label} (builds its index under lock)",
                         _alter(table, sql.SQL("ADD {}").format(definition)), [INDEX_BUILD, ACCESS_EXCLUSIVE])]
        index = {"schema": table["schema"], "name": name, "table": table["name"], "unique": True,
                 "elements": [{"column": c} for c in constraint["columns"]]}
        keyword = sql.SQL("PRIMARY KEY" if kind == "primary_key" else "UNIQUE")
        return [Step(f"drop what an interrupted build of {label} left", render.drop_index(index, concurrently=True),
                     transactional=False),
                Step(f"build the unique index of {label} concurrently",
                     render.create_index(index, concurrently=True), [INDEX_BUILD], transactional=False,
                     timeout=Timeout.BUILD),
                Step(f"add {label} using its index",
                     _alter(table, sql.SQL("ADD CONSTRAINT {} {} USING INDEX {}").format(
                         sql.Identifier(name), keyword, sql.Identifier(name))), transactional=False)]
    return [Step(f"add {label}", _alter(table, sql.SQL("ADD {}").format(definition)), [ACCESS_EXCLUSIVE])]


def _drop_constraint(table: dict, constraint: dict) -> Step:
    name = constraint["name"]
    hazards = [INDEX_DROPPED] if constraint.get("kind") in ("primary_key", "unique") or \
        str(constraint.get("definition", "")).startswith(("PRIMARY KEY", "UNIQUE")) else []
    return Step(f"drop constraint {name} on {table['name']}",
                _alter(table, sql.SQL("DROP CONSTRAINT IF EXISTS {}").format(sql.Identifier(name))), hazards)


# --- table-wide settings -----------------------------------------------------------------------

def _rls_steps(table: dict, old: dict) -> list[Step]:
    if extends_only(table):
        return []
    steps = []
    for key, word in (("rls_enabled", "ENABLE"), ("rls_forced", "FORCE")):
        if bool(old.get(key)) != bool(table.get(key)):
            loosens = not table.get(key)
            verb = word if table.get(key) else ("DISABLE" if key == "rls_enabled" else "NO FORCE")
            steps.append(Step(f"{verb.lower()} row level security on {table['name']}",
                              _alter(table, sql.SQL("{} ROW LEVEL SECURITY").format(sql.SQL(verb))),
                              [AUTHORIZATION] if loosens else []))
    return steps


def _dependents(dependents: Mapping[str, list[dict]], dropped: list[str], retyped: list[str]) -> tuple[list, list]:
    """Policies and views that read a column being dropped or retyped (provider/dependents.py
    found them live): dropped first, in the same transaction; those of a retyped column
    created again, as they were, once the column has its new type."""
    drops: dict[str, Step] = {}
    creates: dict[str, list[Step]] = {}
    for column in dropped + retyped:
        for dependent in dependents.get(column, []):
            why = "which is dropped" if column in dropped else "whose type changes"
            hazards = [AUTHORIZATION] if dependent["kind"] == "policy" and column in dropped else []
            drops.setdefault(dependent["drop"], Step(
                f"drop {dependent['kind']} {dependent['name']} (it reads column {column}, {why})",
                sql.SQL(dependent["drop"]), hazards))
            if column in retyped:
                creates[dependent["drop"]] = [Step(f"create {dependent['kind']} {dependent['name']} again, as it was",
                                                   sql.SQL(text)) for text in dependent["create"]]
    for column in dropped:  # what reads a dropped column is not created again
        for dependent in dependents.get(column, []):
            creates.pop(dependent["drop"], None)
    return list(drops.values()), [step for steps in creates.values() for step in steps]


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


def alter_table(old: dict, new: dict, online: bool = False) -> list[Step]:
    """Steps from `old` to `new`, in an order PostgreSQL accepts: constraints that go or change
    are dropped first, then columns, then constraints are (re)added once the columns exist."""
    check_partitioning(old, new)
    old_cols, new_cols = _by_name(old.get("columns")), _by_name(new.get("columns"))
    old_cons, new_cons = _by_name(old.get("constraints")), _by_name(new.get("constraints"))
    changed_cons = [n for n in new_cons if n in old_cons and old_cons[n] != new_cons[n]]
    # Renamed, only when the file says so (`renamed from`): never a guess from a drop and an add.
    renamed = {c["renamed_from"]: name for name, c in new_cols.items()
               if c.get("renamed_from") in old_cols and c["renamed_from"] not in new_cols and name not in old_cols}
    steps = [Step(f"rename column {new['name']}.{before} to {after}",
                  _alter(new, sql.SQL("RENAME COLUMN {} TO {}").format(sql.Identifier(before), sql.Identifier(after))))
             for before, after in renamed.items()]
    old_cols = {renamed.get(n, n): dict(c, name=renamed.get(n, n)) for n, c in old_cols.items()}
    dropped = [n for n in old_cols if n not in new_cols]
    retyped = [n for n, c in new_cols.items() if n in old_cols and old_cols[n].get("type") != c.get("type")]
    in_the_way, again = _dependents(new.get("_dependents", {}), dropped, retyped)
    steps += in_the_way
    steps += [_drop_constraint(new, c) for n, c in old_cons.items() if n not in new_cons or n in changed_cons]
    steps += [_drop_column(new, n) for n in dropped]
    steps += [_add_column(new, c) for n, c in new_cols.items() if n not in old_cols]
    for name, column in new_cols.items():
        if name in old_cols:
            steps += _alter_column(new, old_cols[name], column, online)
    steps += again
    for name, constraint in new_cons.items():
        if name not in old_cons or name in changed_cons:
            steps += _add_constraint(new, constraint, online)
    if not extends_only(new) and old.get("comment") != new.get("comment"):
        steps.append(Step(f"comment on table {new['name']}", render.comment_on_table(new, new.get("comment"))))
    for name, column in new_cols.items():
        before = old_cols.get(name, {}).get("comment")
        if before != column.get("comment") and (name in old_cols or column.get("comment") is not None):
            steps.append(Step(f"comment on column {new['name']}.{name}",
                              render.comment_on_column(new, name, column.get("comment"))))
    steps += _rls_steps(new, old)
    return steps


def rename_table(table: dict, to: str) -> Step:
    """Only when the file says so (`renamed from` above CREATE TABLE): the rows stay."""
    return Step(f"rename table {_name(table)} to {to}",
                _alter(table, sql.SQL("RENAME TO {}").format(sql.Identifier(to))))


def rename_constraint(table: dict, before: str, after: str) -> Step:
    return Step(f"rename constraint {before} on {table['name']} to {after}", _alter(table, sql.SQL(
        "RENAME CONSTRAINT {} TO {}").format(sql.Identifier(before), sql.Identifier(after))))
