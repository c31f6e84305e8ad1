"""The server's own definitions of indexes, triggers and functions (pg_get_indexdef,
pg_get_triggerdef, pg_get_functiondef), the way a module file spells them: the scaffolded
schema's name left out, `CREATE` rather than `CREATE OR REPLACE`, `ON` rather than `ON ONLY`.

Everything else is the server's text, byte for byte (a function's body included): the edits
only delete tokens that PostgreSQL's own scanner and parser (pglast) located, and the result
is parsed again. Parsing also tells what in an index the model cannot express.
"""

from typing import TypeVar

from pglast import ast, parse_sql, parser

DOT = "ASCII_46"
Statement = TypeVar("Statement", bound=ast.Node)


def _parse(definition: str, kind: type[Statement]) -> Statement:
    statements = parse_sql(definition)
    if len(statements) != 1 or not isinstance(statements[0].stmt, kind):
        raise ValueError(f"expected one {kind.__name__}: {definition}")
    return statements[0].stmt


class _Edit:
    """Deletions from one statement's text, each a run of tokens and the space after it."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = list(parser.scan(text))
        self.cuts: list[tuple[int, int]] = []

    def at(self, offset: int) -> int:
        return next(i for i, t in enumerate(self.tokens) if t.start == offset)

    def delete(self, first: int, count: int) -> None:
        """Tokens first .. first + count - 1, up to the next token."""
        end = self.tokens[first + count].start if first + count < len(self.tokens) else len(self.text)
        self.cuts.append((self.tokens[first].start, end))

    def unqualify(self, first: int, names: list[str], schema: str) -> None:
        """A name starting at token `first`, written schema.name: drop `schema.`."""
        if len(names) == 2 and names[0] == schema and self.tokens[first + 1].name == DOT:
            self.delete(first, 2)

    def result(self) -> str:
        text = self.text
        for start, end in sorted(self.cuts, reverse=True):
            text = text[:start] + text[end:]
        _parse(text, ast.Node)  # still one valid statement
        return text.strip()


def _relation(edit: _Edit, relation: ast.RangeVar | None, schema: str) -> int:
    if relation is None or relation.location is None:
        raise ValueError(f"no table in {edit.text}")
    first = edit.at(relation.location)
    names = [n for n in (relation.schemaname, relation.relname) if n]
    edit.unqualify(first, names, schema)
    return first


def _name_after(edit: _Edit, keywords: tuple[str, ...]) -> int:
    """The token after the first of `keywords` (FUNCTION in CREATE FUNCTION ...)."""
    return next(i for i, t in enumerate(edit.tokens) if t.name in keywords) + 1


def index(definition: str, schema: str) -> tuple[str, list[str]]:
    """CREATE INDEX from pg_get_indexdef(), and what of it the model cannot express."""
    stmt = _parse(definition, ast.IndexStmt)
    edit = _Edit(definition)
    first = _relation(edit, stmt.relation, schema)
    if edit.tokens[first - 1].name == "ONLY":
        # pg_get_indexdef() says ON ONLY for an index of a partitioned table; the program
        # builds such an index on every partition, which is what a plain ON says.
        edit.delete(first - 1, 1)
    problems = []
    for param in stmt.indexParams or ():
        if param.collation:
            problems.append("COLLATE in an index is not supported")
        if param.opclassopts:
            problems.append("operator class options are not supported")
    if stmt.nulls_not_distinct:
        problems.append("NULLS NOT DISTINCT is not supported")
    return edit.result(), problems


def trigger(definition: str, schema: str) -> str:
    stmt = _parse(definition, ast.CreateTrigStmt)
    edit = _Edit(definition)
    _relation(edit, stmt.relation, schema)
    edit.unqualify(_name_after(edit, ("EXECUTE",)) + 1, [n.sval for n in stmt.funcname or ()], schema)
    return edit.result()


def function(definition: str, schema: str) -> str:
    stmt = _parse(definition, ast.CreateFunctionStmt)
    edit = _Edit(definition)
    if stmt.replace:  # a module file declares the function; the provider replaces it
        edit.delete(next(i for i, t in enumerate(edit.tokens) if t.name == "OR"), 2)
    edit.unqualify(_name_after(edit, ("FUNCTION", "PROCEDURE")), [n.sval for n in stmt.funcname or ()], schema)
    return edit.result()
