"""Every table a stack declares or may refer to, and the enum types it declares, stack-wide: one
registry for the parser (which references and column types resolve), the program (which tables
the stack owns, the triggers declared on them, the views a later module may read) and the grants.

Modules are added in stack-config order, so a module sees the tables of the modules before it
and the external tables its config declares, never a later module's.
"""

from dataclasses import dataclass, field

from .objects import Module


@dataclass
class DeclaredTables:
    # (schema, table) -> its column names; None when the table exists outside the stack and
    # its columns are not known.
    tables: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)
    primary_keys: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # The tables a module of the stack creates (not those it only adds columns to).
    owned: set[tuple[str, str]] = field(default_factory=set)
    # The enum types the modules declare: (schema, name).
    enums: set[tuple[str, str]] = field(default_factory=set)
    views: set[tuple[str, str]] = field(default_factory=set)
    # (schema, table) -> the triggers the stack declares on it: {name, function}
    triggers: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def add_external(self, schema: str, name: str) -> None:
        """A table that exists outside the stack (modules[i].external_tables)."""
        self.tables.setdefault((schema, name), None)

    def add_module(self, module: Module) -> None:
        self.enums.update((e.schema, e.name) for e in module.enums)
        for table in module.tables:
            key = (table.schema, table.name)
            if table.owned:
                self.tables[key] = {c.name for c in table.columns}
                self.owned.add(key)
            pk = table.primary_key()
            if pk:
                self.primary_keys[key] = pk
        self.views |= {(view.schema, view.name) for view in module.views}
        for trigger in module.triggers:
            self.triggers.setdefault((trigger.schema, trigger.table), []).append(
                {"name": trigger.name, "function": trigger.function})

    def relation(self, schema: str, name: str) -> bool:
        """Whether the stack declares (or knows, outside it) a table or view of that name."""
        return (schema, name) in self.tables or (schema, name) in self.views

    def triggers_on(self, schema: str, table: str) -> list[dict]:
        """The triggers every module declares on a table, by name."""
        return sorted(self.triggers.get((schema, table), []), key=lambda t: t["name"])

    def owned_by_stack(self, schema: str, name: str) -> bool:
        return (schema, name) in self.owned
