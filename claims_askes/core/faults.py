"""Named crash points: where the crash tests kill a real run with SIGKILL.

Restartability is a claim about every step boundary of a flow; the tests prove it by
killing a real process at each named point (`CLAIMS_ASKES_CRASH_AT=<point>`) and checking
that the next run completes the work with nothing lost and nothing done twice. Unset, a
crash point costs one settings lookup.
"""

from __future__ import annotations

import os
import signal

from claims_askes.core.settings import get_settings

#: every crash point, in the order a chunk passes them
CRASH_POINTS = (
    "after-lease",  # claims leased (in_review), nothing read or written yet
    "before-commit",  # decisions written inside the claims transaction, not committed
    "after-write",  # decisions committed, accumulators not posted
    "after-ledger",  # ledger and accumulators committed, lines not marked posted
    # claim archiving
    "archive-batch-before-commit",  # a batch moved and checked, not committed
    "archive-after-batch",  # a batch committed, the next not started
    "archive-partition-before-commit",  # a partition detached and moved, not committed
    # backups
    "backup-before-rename",  # pg_dump finished into the temporary file
    "backup-before-manifest",  # dump renamed, manifest not written
    "backup-after-manifest",  # manifest written, backup not verified
    "backup-drill-restored",  # drill database restored, not compared nor dropped
    # eligibility sweep
    "sweep-before-commit",  # expired coverages ended; first snapshot batch upserted, not committed
    "sweep-after-batch",  # the first snapshot batch committed, the others not written
    # payment run
    "payment-after-insert",  # payments committed, claim payments not marked scheduled
    "payment-batch-before-commit",  # batches made and checked, not committed
    "payment-after-file",  # a batch's files in the outbox, the batch not marked sent
    "payment-sync-before-mark",  # claim payments updated, the payments not marked synced
    # bank response import
    "import-before-commit",  # a response file's entries applied, not committed
    "import-after-apply",  # a response committed, the claims service not updated
)


def crash_point(name: str) -> None:
    """Kill this process here, the hard way, when the settings name this point."""
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if get_settings().crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
