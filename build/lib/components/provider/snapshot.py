"""Catalog snapshots for `read`: a refresh reads every object of a kind with one query per
schema, then serves each resource's read from it, as pg_dump reads the catalog.

A snapshot is only ever as old as the read it serves may see:
- every change this provider process makes clears all snapshots first (Database.session), and
  the connection is taken in turns, so a snapshot is always taken after the last change this
  process made;
- each resource is served once from a snapshot: a second read of the same resource (the next
  `pulumi refresh`, or a read after something was changed by hand) takes a new one;
- a snapshot serves a burst of reads: it is not served after IDLE seconds without a read from
  it, nor MAX_AGE seconds after it was taken. (A fixed age alone would make a refresh of N
  objects take N / age snapshots of N rows each: quadratic.)
Within one refresh wave the reads then see the catalog as it was when each kind's snapshot was
taken, like a pg_dump of the same moment.
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from .catalog import Rows

IDLE = 2.0  # seconds without a read after which a snapshot is not served
MAX_AGE = 60.0  # seconds after it was taken that a snapshot is not served


@dataclass
class _Snapshot:
    rows: Rows
    taken: float
    last_read: float
    served: set[str] = field(default_factory=set)

    def fresh(self, now: float, idle: float, max_age: float) -> bool:
        return now - self.last_read <= idle and now - self.taken <= max_age


class Snapshots:
    def __init__(self, idle: float = IDLE, max_age: float = MAX_AGE):
        self._idle, self._max_age = idle, max_age
        self._taken: dict[Hashable, _Snapshot] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._taken.clear()

    def rows(self, key: Hashable, resource: str, take: Callable[[], Rows]) -> Rows:
        """The rows of snapshot `key` for one read of `resource`; `take` reads them anew."""
        with self._lock:
            snapshot = self._taken.get(key)
            if snapshot is not None and resource in snapshot.served:
                self._taken.clear()  # a new refresh wave: every snapshot is from the last one
                snapshot = None
            if snapshot is None or not snapshot.fresh(time.monotonic(), self._idle, self._max_age):
                taken = time.monotonic()
                snapshot = self._taken[key] = _Snapshot(take(), taken, taken)
            snapshot.served.add(resource)
            snapshot.last_read = time.monotonic()
            return snapshot.rows
