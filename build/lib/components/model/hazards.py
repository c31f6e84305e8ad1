"""What a planned step can do to a live database, named, with a one-line explanation each.

A stack accepts some hazards (`pgstack:safety` allow_hazards; dev all, prod none by default),
and a single step can be approved in its SQL file, next to the statement:

    -- pgstack: approve index_build: the table has 2,000 rows; built concurrently anyway
    CREATE INDEX ...

A step with a hazard neither accepts is refused at preview, and nothing runs.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Hazard:
    name: str
    explanation: str

    def __str__(self) -> str:
        return self.name

    def describe(self) -> str:
        return f"{self.name}: {self.explanation}"


DATA_LOSS = Hazard("data_loss", "deletes rows or column values that cannot be restored")
TABLE_REWRITE = Hazard("table_rewrite", "rewrites every row of the table under an ACCESS EXCLUSIVE lock: reads and "
                                        "writes wait until it finishes, and the table needs its size again on disk")
ACCESS_EXCLUSIVE = Hazard("access_exclusive_lock", "holds an ACCESS EXCLUSIVE lock while it works: every read and "
                                                   "write of the table waits")
SHARE_LOCK = Hazard("share_lock", "holds a lock that blocks writes to the table (reads continue) until it finishes")
FULL_SCAN = Hazard("full_scan_under_lock", "reads every row of the table while holding a lock that blocks writes")
INDEX_BUILD = Hazard("index_build", "builds an index: reads the whole table and loads the server; writes continue "
                                    "only when it is built CONCURRENTLY")
INDEX_DROPPED = Hazard("index_dropped", "queries that use the index may slow down, and a unique index no longer "
                                        "enforces uniqueness")
AUTHORIZATION = Hazard("authorization_change", "changes who may read or write which rows: RLS disabled or no longer "
                                               "forced, a policy dropped, loosened or widened")
UNTRACKABLE = Hazard("untrackable_dependency", "a function body refers to tables and functions by name, which "
                                               "PostgreSQL does not track: a change to them can break it at run time")

ALL = (DATA_LOSS, TABLE_REWRITE, ACCESS_EXCLUSIVE, SHARE_LOCK, FULL_SCAN, INDEX_BUILD, INDEX_DROPPED, AUTHORIZATION,
       UNTRACKABLE)
BY_NAME = {h.name: h for h in ALL}
