"""Monthly partitions of a partitioned table, as declared by stack config.

A module's SQL declares the partitioned table (`CREATE TABLE event (...) PARTITION BY RANGE
(occurred_at)`); stack config says which months exist (`pgstack:modules[i].partitions`). The
program declares one Partition resource for every month from the configured `start` through the
current month plus `ahead`. `start` is fixed, so as time passes months are only ever added: no
partition leaves the declared set by itself, and a deletion (moving `start` later, removing the
config) is a DROP TABLE with its rows, which the data-loss rule refuses on strict stacks.

There is no DEFAULT partition: rows outside every declared month are rejected ("no partition of
relation ... found for row") instead of piling up where no retention or index strategy reaches
them, and a DEFAULT partition would make every later CREATE ... PARTITION OF scan it under lock
(and fail if it holds rows of the new month).

Pure: the current date is a parameter.
"""

from dataclasses import dataclass
from datetime import date

from .names import MAX_IDENTIFIER
from .objects import Column, Table

# Partition key types monthly ranges can bound, and how a month's first instant is spelled for
# each. timestamptz bounds carry an explicit UTC offset: months are UTC months whatever the
# session's TimeZone.
_BOUND_FORMATS = {
    "timestamp with time zone": "{:%Y-%m-%d} 00:00:00+00",
    "timestamp without time zone": "{:%Y-%m-%d} 00:00:00",
    "date": "{:%Y-%m-%d}",
}


@dataclass
class Partition:
    schema: str
    table: str
    name: str
    source: str  # the stack config key that declares it
    lower: str
    upper: str

    def inputs(self) -> dict:
        # RLS is always on: a partition is a table of its own, and a query that names it
        # directly is not filtered by its parent's policies. With RLS on and no policies, such
        # a query sees no rows; through the parent, the parent's policies apply.
        return {"schema": self.schema, "table": self.table, "name": self.name, "source": self.source,
                "from": self.lower, "to": self.upper, "rls_enabled": True}


def monthly_key_problem(table: Table | None) -> str | None:
    """Why monthly partitions cannot be declared for `table`, or None when they can."""
    if table is None or not table.owned:
        return "the module does not create it"
    if not table.partition_by:
        return f"table {table.name} is not partitioned (its CREATE TABLE has no PARTITION BY)"
    if not table.partition_by.startswith("RANGE ") or len(table.partition_key) != 1:
        return (f"table {table.name} is partitioned by {table.partition_by}; monthly partitions need "
                f"PARTITION BY RANGE on one column")
    column = _key_column(table)
    if column.type not in _BOUND_FORMATS:
        return (f"partition key {table.name}.{column.name} is {column.type}; monthly partitions need "
                f"a date or timestamp column")
    if len(partition_name(table.name, date(2000, 1, 1))) > MAX_IDENTIFIER:
        return f"table name {table.name} is too long for partition names <table>_YYYY_MM"
    return None


def _key_column(table: Table) -> Column:
    """The one column of a range partition key (the parser checked it is the table's)."""
    column = table.column(table.partition_key[0])
    assert column is not None, "the parser checks partition key columns"
    return column


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(start: date, today: date, ahead: int) -> list[date]:
    """First days of the months from `start` through today's month + `ahead` (at least `start`)."""
    last = date(today.year, today.month, 1)
    for _ in range(ahead):
        last = _next_month(last)
    result = [date(start.year, start.month, 1)]
    while result[-1] < last:
        result.append(_next_month(result[-1]))
    return result


def monthly_partitions(table: Table, start: date, ahead: int, today: date, source: str) -> list[Partition]:
    problem = monthly_key_problem(table)
    if problem:
        raise ValueError(problem)
    bound = _BOUND_FORMATS[_key_column(table).type]
    return [Partition(schema=table.schema, table=table.name, name=partition_name(table.name, month),
                      source=source, lower=bound.format(month), upper=bound.format(_next_month(month)))
            for month in months(start, today, ahead)]
