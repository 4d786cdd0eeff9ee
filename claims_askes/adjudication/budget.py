"""How many claims a run may still lease, shared by its shards (thread-safe)."""

from __future__ import annotations

import threading


class Budget:
    """A run's max_claims, shared by its shards (None: no limit). A shard reserves a chunk's
    worth before leasing and settles with what it wrote, so the run stops near max_claims
    (a chunk may exceed it by the rest of its last member, as before)."""

    def __init__(self, limit: int | None) -> None:
        self._remaining = limit
        self._lock = threading.Lock()

    def reserve(self, want: int) -> int:
        with self._lock:
            if self._remaining is None:
                return want
            granted = max(0, min(want, self._remaining))
            self._remaining -= granted
            return granted

    def settle(self, reserved: int, used: int) -> None:
        with self._lock:
            if self._remaining is not None:
                self._remaining += reserved - used
