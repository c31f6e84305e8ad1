"""Index rules: foreign keys and policy columns without an index, duplicate indexes, tables
without a primary key (splinter's names where one exists)."""

from collections.abc import Iterator
from dataclasses import dataclass

from .expressions import columns, not_null_column
from .rule import Finding
from .stack import Resource, Stack, known


@dataclass(frozen=True)
class Lookup:
    """What an index (or a PRIMARY KEY / UNIQUE constraint) can serve: equality lookups by its
    leading columns, in any order; a partial index only when its predicate is `<column> IS NOT
    NULL` on one of them (what `column = value` implies)."""

    name: str
    columns: tuple[str, ...]
    partial_on: str | None = None  # the column of a `col IS NOT NULL` partial index
    partial: bool = False  # any other predicate: serves only queries that imply it

    def serves(self, wanted: list[str]) -> bool:
        if self.partial or set(self.columns[:len(wanted)]) != set(wanted):
            return False
        return self.partial_on is None or self.partial_on in wanted


def lookups(stack: Stack, key: object) -> list[Lookup]:
    found = [Lookup(str(c.get("name")), tuple(c.get("columns") or ())) for c in stack.constraints(key)
             if c.get("kind") in ("primary_key", "unique")]
    for index in stack.on_table("Index", key):
        elements, where = index.get("elements"), index.get("where")
        if not known(elements, where) or not isinstance(elements, list):
            continue
        leading = []
        for element in elements:
            if not isinstance(element, dict) or not element.get("column"):
                break  # an expression ends the usable prefix
            leading.append(element["column"])
        on = not_null_column(where) if isinstance(where, str) else None
        found.append(Lookup(str(index.get("name")), tuple(leading), on, partial=bool(where) and on is None))
    return found


def unindexed_foreign_keys(stack: Stack) -> Iterator[Finding]:
    for key, tables in stack.tables.items():
        available = lookups(stack, key)
        for table in tables:
            for constraint in table.get("constraints") or []:
                wanted = constraint.get("columns") if isinstance(constraint, dict) else None
                if constraint.get("kind") != "foreign_key" or not isinstance(wanted, list) or not known(*wanted):
                    continue
                if not any(lookup.serves(wanted) for lookup in available):
                    cols = ", ".join(wanted)
                    yield Finding(table, f"foreign key {constraint.get('name')} ({cols}) has no index leading with "
                                         f"its columns: deleting or changing a referenced row scans this table.",
                                  f"add `CREATE INDEX idx_{table.get('name')}_{'_'.join(wanted)} ON "
                                  f"{table.get('name')} ({cols});` (or lead an existing index with them).")


def unindexed_policy_columns(stack: Stack) -> Iterator[Finding]:
    """Every column a policy's USING filters on leads an index, so the filter RLS adds to each
    query is an index scan (the seeds' performance notes ask for it)."""
    for policy in stack.of_kind("Policy"):
        key, using = stack.table_key(policy), policy.get("using")
        if not isinstance(key, tuple) or not isinstance(using, str):
            continue
        available = lookups(stack, key)
        missing = [c for c in columns(using, key[1]) if not any(lookup.serves([c]) for lookup in available)]
        if missing:
            yield Finding(policy, f"filters on {', '.join(missing)} (USING), which no index leads with: every "
                                  f"query the policy applies to reads the whole table.",
                          f"add an index whose first column is {missing[0]} (a PRIMARY KEY or UNIQUE constraint "
                          f"leading with it counts).")


def _signature(element: dict) -> tuple:
    order = element.get("order") or "ASC"
    nulls = element.get("nulls") or ("FIRST" if order == "DESC" else "LAST")
    return element.get("column"), element.get("expression"), element.get("opclass"), order, nulls


def duplicate_index(stack: Stack) -> Iterator[Finding]:
    for key in stack.tables:
        seen: dict[tuple, str] = {}
        for constraint in stack.constraints(key):
            if constraint.get("kind") in ("primary_key", "unique"):
                elements = tuple(_signature({"column": c}) for c in constraint.get("columns") or ())
                seen.setdefault((True, "btree", elements, (), None, ()), f"constraint {constraint.get('name')}")
        for index in stack.on_table("Index", key):
            props = [index.get(k) for k in ("unique", "method", "elements", "include", "where", "with_params")]
            if not known(*props):
                continue
            unique, method, elements, include, where, params = props
            signature = (bool(unique), method or "btree", tuple(_signature(e) for e in elements or []),
                         tuple(include or ()), where, tuple(params or ()))
            if signature in seen:
                yield Finding(index, f"is identical to {seen[signature]}: both are written on every change and only "
                                     f"one is ever used.", "drop this index (keep the constraint if it is one).")
            else:
                seen[signature] = f"index {index.get('name')}"


def no_primary_key(table: Resource) -> Iterator[Finding]:
    constraints = table.get("constraints") or []
    if table.owned_table and not any(isinstance(c, dict) and c.get("kind") == "primary_key" for c in constraints):
        yield Finding(table, "has no primary key: rows cannot be addressed one by one (updates, deletes, "
                             "replication and the API need one).",
                      "add a PRIMARY KEY, e.g. `id uuid PRIMARY KEY DEFAULT gen_random_uuid()`.")
