"""The text of each scaffolded file, in the SQL the model supports (README, "Writing SQL modules").

Statements are composed with psycopg's sql module: names through `Name` (an sql.Identifier
quoted only where PostgreSQL needs it, so the files read like hand-written ones), text through
sql.Literal. Types, defaults, CHECK expressions, policy clauses and view queries are the
server's own renderings (format_type, pg_get_expr, pg_get_constraintdef, pg_get_viewdef);
indexes, triggers and functions are pg_get_*def with the schema's name taken out
(statements.py).
"""

import textwrap
from collections.abc import Iterable

from pglast.stream import maybe_double_quote_name
from psycopg import sql
from psycopg.abc import AdaptContext

from .catalog import ColumnRow, ConstraintRow, EnumRow, PolicyRow, RelationRow
from .selection import FK_ACTIONS, POLICY_COMMANDS, FunctionsFile, ScaffoldFile, TableFile, TypesFile, ViewFile

INDENT = "    "
WIDTH = 96  # comment lines


class Name(sql.Identifier):
    """An identifier, double-quoted only where PostgreSQL requires it (pglast's rule: not
    lower-case letters, digits and underscores, or a reserved word)."""

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        parts = [part.encode() if maybe_double_quote_name(part) == part else sql.Identifier(part).as_bytes(context)
                 for part in self._obj]
        return b".".join(parts)


def _names(names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(Name(n) for n in names)


class Renderer:
    def __init__(self, schema: str, module: str, context: AdaptContext | None = None):
        self.schema = schema
        self.module = module
        self.context = context

    def text(self, composable: sql.Composable) -> str:
        return composable.as_string(self.context)

    def relation(self, schema: str | None, name: str) -> sql.Composable:
        """A table as the files name it: unqualified in the scaffolded schema."""
        return Name(name) if schema in (None, self.schema) else Name(schema, name)

    # --- files --------------------------------------------------------------------------------

    def file(self, number: int, total_files: int, part: ScaffoldFile) -> tuple[str, str]:
        prefix = f"{number:0{max(3, len(str(total_files)))}d}"
        blocks = [self._header(prefix, part)]
        blocks += [self.text(sql.SQL("CREATE EXTENSION {};").format(Name(e))) for e in part.extensions]
        if isinstance(part, TypesFile):
            blocks += [self._enum(e) for e in part.enums]
        elif isinstance(part, TableFile):
            blocks += self._table_blocks(part)
        elif isinstance(part, FunctionsFile):
            blocks += [f.statement + ";" for f in part.functions]
        else:
            blocks.append(self._view(part))
        return f"{prefix}_{part.title}.sql", "\n\n".join(b for b in blocks if b) + "\n"

    def _header(self, prefix: str, part: ScaffoldFile) -> str:
        if isinstance(part, (FunctionsFile, TypesFile)):
            subject = f"the {'functions' if isinstance(part, FunctionsFile) else 'enum types'} of schema {self.schema}"
        else:
            subject = f"{'table' if isinstance(part, TableFile) else 'view'} {self.schema}.{part.title}"
        lines = [f"{self.module} module, file {prefix}: {part.title}", ""]
        lines += textwrap.wrap(
            f"Scaffolded by `python -m components.scaffold` from {subject}, as the live catalog holds it. "
            f"Review it before adopting the database (README, \"Adopting an existing database\"): from then "
            f"on the files declare the state the stack keeps.", WIDTH)
        if part.omissions:
            lines += ["", "Left out, because the model cannot express it (also listed on stderr):"]
            for omission in part.omissions:
                lines += textwrap.wrap(" ".join(str(omission).split()), WIDTH, initial_indent="  * ",
                                       subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
        return "\n".join(f"-- {line}".rstrip() for line in lines)

    # --- enum types ---------------------------------------------------------------------------

    def _enum(self, enum: EnumRow) -> str:
        head = self.text(sql.SQL("CREATE TYPE {} AS ENUM").format(Name(enum.name)))
        values = [self.text(sql.Literal(v)) for v in enum.values]
        line = f"{head} ({', '.join(values)});"
        return line if len(line) <= WIDTH else head + " (\n" + ",\n".join(INDENT + v for v in values) + "\n);"

    # --- tables -------------------------------------------------------------------------------

    def _table_blocks(self, part: TableFile) -> list[str]:
        table = part.relation
        name = self.relation(None, table.name)
        blocks = [self._create_table(part)]
        blocks.append("\n".join(index + ";" for index in part.indexes))
        rls = []
        if table.rls_enabled:
            rls.append(self.text(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY;").format(name)))
        if table.rls_forced:
            rls.append(self.text(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY;").format(name)))
        blocks.append("\n".join(rls))
        blocks += [self._policy(table, p) for p in part.policies]
        blocks += [f.statement + ";" for f in part.functions]
        blocks += [trigger + ";" for trigger in part.triggers]
        blocks.append(self._comments(table, part.columns))
        return blocks

    def _create_table(self, part: TableFile) -> str:
        inline, table_level = _placed_constraints(part.columns, part.constraints)
        width = max((len(self.text(Name(c.name))) for c in part.columns), default=0)
        elements = []
        for column in part.columns:
            head = self.text(Name(column.name)).ljust(width)
            line = f"{INDENT}{head} {self.text(self._column(column))}"
            for con in inline.get(column.name, []):
                line += f"\n{INDENT}{' ' * width} {self.text(self._constraint(con, inline=True))}"
            elements.append(line)
        elements += [f"{INDENT}{self.text(self._constraint(con, inline=False))}" for con in table_level]
        head = self.text(sql.SQL("CREATE TABLE {} (").format(self.relation(None, part.relation.name)))
        tail = ")"
        if part.relation.partition_by:
            tail += " " + self.text(sql.SQL("PARTITION BY {}").format(sql.SQL(part.relation.partition_by)))
        return head + "\n" + ",\n".join(elements) + "\n" + tail + ";"

    def _column(self, column: ColumnRow) -> sql.Composable:
        parts: list[sql.Composable] = [sql.SQL(column.type)]
        if column.identity:
            parts.append(sql.SQL("GENERATED ALWAYS AS IDENTITY" if column.identity == "a"
                                 else "GENERATED BY DEFAULT AS IDENTITY"))
        if column.default is not None:
            parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column.default)))
        if column.not_null:
            parts.append(sql.SQL("NOT NULL"))
        return sql.SQL(" ").join(parts)

    def _constraint(self, con: ConstraintRow, inline: bool) -> sql.Composable:
        columns = sql.SQL("") if inline else sql.SQL(" ({})").format(_names(con.columns))
        body: sql.Composable
        if con.kind == "p":
            body = sql.SQL("PRIMARY KEY{}").format(columns)
        elif con.kind == "u":
            body = sql.SQL("UNIQUE{}").format(columns)
        elif con.kind == "f":
            body = sql.SQL("{}REFERENCES {} ({})").format(
                sql.SQL("") if inline else sql.SQL("FOREIGN KEY ({}) ").format(_names(con.columns)),
                self.relation(con.ref_schema, con.ref_table or ""), _names(con.ref_columns))
            for clause, action in (("ON DELETE", FK_ACTIONS[con.on_delete]), ("ON UPDATE", FK_ACTIONS[con.on_update])):
                if action:
                    body = sql.SQL("{} {} {}").format(body, sql.SQL(clause), sql.SQL(action.upper()))
        else:  # check: the server's own text, CHECK ((...))
            body = sql.SQL(con.definition)
        return sql.SQL("CONSTRAINT {} {}").format(Name(con.name), body)

    def _policy(self, table: RelationRow, policy: PolicyRow) -> str:
        lines: list[sql.Composable] = [
            sql.SQL("CREATE POLICY {} ON {}").format(Name(policy.name), self.relation(None, table.name))]
        if not policy.permissive:
            lines.append(sql.SQL("AS RESTRICTIVE"))
        lines.append(sql.SQL("FOR {}").format(sql.SQL(POLICY_COMMANDS[policy.command].upper())))
        lines.append(sql.SQL("TO {}").format(sql.SQL(", ").join(
            sql.SQL("PUBLIC") if role == "public" else Name(role) for role in policy.roles)))
        if policy.using is not None:
            lines.append(sql.SQL("USING ({})").format(sql.SQL(policy.using)))
        if policy.with_check is not None:
            lines.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy.with_check)))
        return self.text(lines[0]) + "".join(f"\n{INDENT}{self.text(line)}" for line in lines[1:]) + ";"

    def _comments(self, table: RelationRow, columns: list[ColumnRow]) -> str:
        name = self.relation(None, table.name)
        comments = []
        if table.comment is not None:
            comments.append(sql.SQL("COMMENT ON TABLE {} IS {};").format(name, sql.Literal(table.comment)))
        for column in columns:
            if column.comment is not None:
                comments.append(sql.SQL("COMMENT ON COLUMN {} IS {};").format(
                    Name(table.name, column.name), sql.Literal(column.comment)))
        return "\n".join(self.text(c) for c in comments)

    # --- views --------------------------------------------------------------------------------

    def _view(self, part: ViewFile) -> str:
        view = part.relation
        query = sql.SQL("CREATE VIEW {}").format(self.relation(None, view.name))
        if view.options:
            query = sql.SQL("{} WITH ({})").format(query, sql.SQL(", ").join(sql.SQL(o) for o in view.options))
        body = (view.definition or "").rstrip().removesuffix(";")
        return self.text(query) + " AS\n" + body + ";"


def _placed_constraints(columns: list[ColumnRow], constraints: list[ConstraintRow]
                        ) -> tuple[dict[str, list[ConstraintRow]], list[ConstraintRow]]:
    """A constraint on one column is written on that column, as the hand-written modules do;
    one on several (or no) columns after the columns. Each group: primary key, unique, check,
    foreign key, then by name."""
    order = {"p": 0, "u": 1, "c": 2, "f": 3}
    names = {c.name for c in columns}
    inline: dict[str, list[ConstraintRow]] = {}
    table_level = []
    for con in sorted(constraints, key=lambda c: (order[c.kind], c.name)):
        if len(con.columns) == 1 and con.columns[0] in names:
            inline.setdefault(con.columns[0], []).append(con)
        else:
            table_level.append(con)
    return inline, table_level


def render(schema: str, module: str, files: list[ScaffoldFile], context: AdaptContext | None = None
           ) -> list[tuple[str, str]]:
    """(file name, text) of each file, numbered in order."""
    renderer = Renderer(schema, module, context)
    return [renderer.file(i, len(files), part) for i, part in enumerate(files, start=1)]

