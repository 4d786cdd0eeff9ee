"""Global concurrency limits of the project, and the one way flows take them.

The work pool's `backup-restore` queue (limit 1) already keeps a backup and a restore
started by workers apart. The flows also take the global limit themselves, so that the rule
holds for every run, whoever starts it: a worker, the UI, or `claims-askes run ...` on a
laptop pointed at the same Prefect server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class GlobalLimit:
    name: str
    limit: int
    why: str


BACKUP_RESTORE = GlobalLimit(
    "claims-askes-backup-restore",
    1,
    "pg_dump and pg_restore of the same database never overlap (a backup taken during a "
    "restore is neither the old nor the new database)",
)
ARCHIVING = GlobalLimit(
    "claims-askes-archiving", 1, "two archiving runs would move the same claims twice"
)

GLOBAL_LIMITS: tuple[GlobalLimit, ...] = (BACKUP_RESTORE, ARCHIVING)


@contextmanager
def exclusive(limit: GlobalLimit, *, timeout_seconds: float = 6 * 3600) -> Iterator[None]:
    """Hold one slot of `limit` for the block; waits for a free slot (up to the timeout).

    Usage in a flow: `with exclusive(BACKUP_RESTORE): ...`. Without a Prefect server (the
    ephemeral API of a local `claims-askes run`) the limit does not exist and the block runs
    unguarded, as there is nobody to collide with.
    """
    from prefect.concurrency.sync import concurrency

    with concurrency(limit.name, occupy=1, timeout_seconds=timeout_seconds, strict=False):
        yield
