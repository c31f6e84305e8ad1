"""Catalog snapshots: a refresh reads every object of a kind with one query per schema, then
serves each resource's read from it, as pg_dump reads the catalog. A preview's `check` (and the
plan command) plans each object from the same snapshots, and from one of the journal.

A snapshot is only ever as old as the read it serves may see:
- every change this provider process makes clears all snapshots first (Database.session), and
  the connection is taken in turns, so a snapshot is always taken after the last change this
  process made;
- each resource is read once per wave, from a snapshot or alone: a second read of the same
  resource (the next `pulumi refresh`, a refresh after a preview, or a read after something was
  changed by hand) starts a new wave, with new snapshots;
- a snapshot serves a burst of reads: it is not served after IDLE seconds without a read from
  it, nor MAX_AGE seconds after it was taken. (A fixed age alone would make a refresh of N
  objects take N / age snapshots of N rows each: quadratic.)
Within one refresh wave the reads then see the catalog as it was when each kind's snapshot was
taken, like a pg_dump of the same moment.

A check asks with `burst`: a snapshot is taken only after `burst` reads of its key were made
alone since the last change (None tells the caller to read alone). During `up`, the engine's
checks interleave with the changes, each of which clears the snapshots: a snapshot of the whole
schema for each check would make an `up` of N new objects read N² rows.
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

IDLE = 2.0  # seconds without a read after which a snapshot is not served
MAX_AGE = 60.0  # seconds after it was taken that a snapshot is not served


@dataclass
class _Snapshot:
    rows: Any
    taken: float
    last_read: float
    served: set[str] = field(default_factory=set)

    def fresh(self, now: float, idle: float, max_age: float) -> bool:
        return now - self.last_read <= idle and now - self.taken <= max_age


class Snapshots:
    def __init__(self, idle: float = IDLE, max_age: float = MAX_AGE):
        self._idle, self._max_age = idle, max_age
        self._taken: dict[Hashable, _Snapshot] = {}
        self._alone: dict[Hashable, set[str]] = {}  # the resources read alone in this wave, by key
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._taken.clear()
            self._alone.clear()

    def rows(self, key: Hashable, resource: str, take: Callable[[], Any], burst: int = 0) -> Any:
        """The rows of snapshot `key` for one read of `resource`; `take` reads them anew. With
        `burst`, None (read alone) until `burst` reads of `key` were made alone."""
        with self._lock:
            snapshot = self._taken.get(key)
            alone = self._alone.setdefault(key, set())
            if resource in alone or (snapshot is not None and resource in snapshot.served):
                # A new wave: every snapshot is from the last one, or older than its read.
                self._taken.clear()
                self._alone.clear()
                alone = self._alone[key] = set()
                snapshot = None
            if snapshot is None or not snapshot.fresh(time.monotonic(), self._idle, self._max_age):
                if len(alone) < burst:
                    alone.add(resource)
                    return None
                taken = time.monotonic()
                snapshot = self._taken[key] = _Snapshot(take(), taken, taken)
            snapshot.served.add(resource)
            snapshot.last_read = time.monotonic()
            return snapshot.rows
