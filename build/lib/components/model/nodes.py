"""Typed access to pglast node fields.

pglast types every node field Optional, but PostgreSQL's grammar always fills some of them on a
given node kind: a CREATE TABLE has a relation, a RangeVar a relname, a ColumnDef a colname.
`filled` says so where such a field is read, and fails loudly should that ever stop holding.
"""

from typing import Any, TypeVar

T = TypeVar("T")


def filled(value: T | None) -> T:
    if value is None:
        raise AssertionError("pglast left empty a node field that the grammar always fills")
    return value


def strings(nodes: tuple[Any, ...] | None) -> list[str]:
    """The parts of a qualified name or a column list (a tuple of String nodes)."""
    return [node.sval for node in filled(nodes)]
