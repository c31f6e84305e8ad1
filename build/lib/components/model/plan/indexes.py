"""Index plans. Online (pgstack:safety online): built and dropped CONCURRENTLY, outside a
transaction, and a changed definition is swapped in: the new index is built under a temporary
name, the old one dropped, the new one renamed, so there is never a moment without an index.
An index on a partitioned table cannot be built CONCURRENTLY as such: online, it is created ON
ONLY the parent, built CONCURRENTLY on each partition and attached to it."""

from psycopg import sql

from .. import render
from ..hazards import ACCESS_EXCLUSIVE, INDEX_BUILD, INDEX_DROPPED, SHARE_LOCK
from ..names import MAX_IDENTIFIER
from .step import Step, Timeout


def swap_name(index: dict) -> str:
    """The temporary name a changed index is built under, online (found again after a fault)."""
    return f"{index['name'][:MAX_IDENTIFIER - 13]}_pgstack_swap"


def partition_index_name(index: dict, partition: str) -> str:
    return f"{partition}_{index['name']}"[:MAX_IDENTIFIER]


def create_index(index: dict, online: bool, partitions: list[str] | None = None) -> list[Step]:
    label = f"index {index['name']} on {index['table']}"
    if not online:
        return [Step(f"create {label} (writes wait while it builds)", render.create_index(index),
                     [INDEX_BUILD, SHARE_LOCK], timeout=Timeout.BUILD)]
    if not index.get("partitioned"):
        return [Step(f"create {label} concurrently", render.create_index(index, concurrently=True), [INDEX_BUILD],
                     transactional=False, timeout=Timeout.BUILD)]
    steps = [Step(f"create {label}, on the partitioned table only (valid once each partition has it)",
                  render.create_index(index, only=True))]
    for partition in partitions or []:
        local = dict(index, table=partition, name=partition_index_name(index, partition), partitioned=None)
        steps.append(Step(f"create index {local['name']} on partition {partition} concurrently",
                          render.create_index(local, concurrently=True, if_not_exists=True), [INDEX_BUILD],
                          transactional=False, timeout=Timeout.BUILD))
        attach = sql.SQL("ALTER INDEX {} ATTACH PARTITION {}").format(
            render.qualified(index["schema"], index["name"]), render.qualified(index["schema"], local["name"]))
        steps.append(Step(f"attach index {local['name']} to {index['name']}", attach, transactional=False))
    return steps


def drop_index(index: dict, online: bool) -> list[Step]:
    concurrently = online and not index.get("partitioned")
    hazards = [INDEX_DROPPED] if concurrently else [INDEX_DROPPED, ACCESS_EXCLUSIVE]
    return [Step(f"drop index {index['name']}" + (" concurrently" if concurrently else ""),
                 render.drop_index(index, concurrently), hazards, transactional=not concurrently)]


def change_index(old: dict, new: dict, online: bool) -> list[Step]:
    """A definition change, as an update of the same resource."""
    if not online or new.get("partitioned"):
        # One transaction: the old index is gone only inside it, but the table is locked for
        # the whole build.
        return [Step(f"drop index {old['name']} to rebuild it (inside the transaction: no one sees it missing)",
                     render.drop_index(old)),
                Step(f"rebuild index {new['name']} with its new definition (the table is locked while it builds)",
                     render.create_index(new), [INDEX_BUILD, ACCESS_EXCLUSIVE], timeout=Timeout.BUILD)]
    swap = dict(new, name=swap_name(new))
    return [
        Step(f"drop a leftover {swap['name']}", render.drop_index(swap, concurrently=True), transactional=False),
        Step(f"build the new {new['name']} concurrently as {swap['name']}",
             render.create_index(swap, concurrently=True), [INDEX_BUILD], transactional=False, timeout=Timeout.BUILD),
        Step(f"drop the old {new['name']} concurrently (the new one serves)", render.drop_index(old, concurrently=True),
             transactional=False),
        Step(f"rename {swap['name']} to {new['name']}", sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            render.qualified(new["schema"], swap["name"]), sql.Identifier(new["name"])), transactional=False),
    ]


def rename_index(current: str, index: dict) -> list[Step]:
    return [Step(f"rename {current} to {index['name']}", sql.SQL("ALTER INDEX {} RENAME TO {}").format(
        render.qualified(index["schema"], current), sql.Identifier(index["name"])))]
