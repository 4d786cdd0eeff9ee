"""Realistic decision times for the demo. The seed writes claims submitted over the past
months, and the main job's adjudication decides them all at once, at the demo's moment: a
claim submitted a year ago would look decided after a year. Production decides claims
within hours or days of their submission, run after run.

`spread_decision_times` gives each claim the demo's adjudication decided a moment of
decision after its submission, as earlier runs would have: a log-normal delay (median
about 20 hours, 90th percentile about 3 days, at least 15 minutes, at most 20 days),
drawn from a generator with the demo's seed in claim number order, so the same data get
the same times. A claim whose drawn moment would be after now keeps now (it was decided by
today's run). The claims and their decided lines change, through the claims service's own
connection (audited like any write); the status history and notes are insert-only and
keep the run's time.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from claims_askes.db.connections import service_connection
from claims_askes.db.sqlfiles import queries

DEMO_HISTORY_SEED = 42
MEDIAN_HOURS = 20.0
SIGMA = 1.0  # log-normal spread: p90 = median * e^(1.2816 * sigma), about 72 hours
MIN_HOURS, MAX_HOURS = 0.25, 20 * 24.0


def decision_delays_hours(n: int, seed: int = DEMO_HISTORY_SEED) -> np.ndarray:
    """`n` delays from submission to decision, in hours (deterministic for `seed`)."""
    rng = np.random.default_rng(seed)
    hours = rng.lognormal(mean=np.log(MEDIAN_HOURS), sigma=SIGMA, size=n)
    return np.clip(hours, MIN_HOURS, MAX_HOURS)


def spread_decision_times(since: datetime, seed: int = DEMO_HISTORY_SEED) -> int:
    """Move the decisions made since `since` to realistic moments after each claim's
    submission; returns how many claims were moved."""
    q = queries("claims_service")
    with service_connection("claims") as conn:
        rows = conn.execute(q.demo_decided_since, {"since": since}).fetchall()
        if not rows:
            return 0
        frame = pd.DataFrame(rows, columns=["id", "claim_number", "submitted", "decided"])
        submitted = pd.to_datetime(frame["submitted"], utc=True)
        decided = pd.to_datetime(frame["decided"], utc=True)
        delay = pd.to_timedelta(decision_delays_hours(len(frame), seed), unit="h")
        moment = (submitted + delay).where(submitted + delay < decided, decided)
        moved = moment < decided
        if not moved.any():
            return 0
        row = conn.execute(
            q.demo_set_decision_times,
            {
                "ids": [str(i) for i in frame.loc[moved, "id"]],
                "decided_at": list(moment[moved].dt.to_pydatetime()),
            },
        ).fetchone()
    return int(row[0]) if row else 0
