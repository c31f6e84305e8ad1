"""Catalog snapshots for `read`: a refresh reads every object of a kind with one query per
schema, then serves each resource's read from it, as pg_dump reads the catalog.

A snapshot is only ever as old as the read it serves may see:
- every change this provider process makes clears all snapshots first (Database.session), and
  the connection is taken in turns, so a snapshot is always taken after the last change this
  process made;
- each resource is served once from a snapshot: a second read of the same resource (the next
  `pulumi refresh`, or a read after something was changed by hand) takes a new one;
- a snapshot is not served after MAX_AGE seconds.
Within one refresh wave the reads then see the catalog as it was when each kind's snapshot was
taken, like a pg_dump of the same moment.
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from .catalog import Rows

MAX_AGE = 2.0  # seconds a snapshot may serve reads for


@dataclass
class _Snapshot:
    rows: Rows
    taken: float
    served: set[str] = field(default_factory=set)


class Snapshots:
    def __init__(self, max_age: float = MAX_AGE):
        self._max_age = max_age
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
            if snapshot is None or time.monotonic() - snapshot.taken > self._max_age:
                snapshot = self._taken[key] = _Snapshot(take(), time.monotonic())
            snapshot.served.add(resource)
            return snapshot.rows
