"""One member hash bucket of a fanned-out `claim-adjudication` run (`fan_out`), as a child
run of the `claim-adjudication-shard` deployment, so that any worker of the pool can take it.

The same steps as a shard of a run in threads (flows/steps/adjudication.py): lease chunks of
the bucket's members, adjudicate, write, post, until the bucket (or the run's share of
max_claims) is empty. Killed anywhere, it loses nothing: its lease expires and the next run
takes the claims; lines written but not posted are posted by the next run before it
adjudicates. Its summary goes to the parent as a JSON artifact (flows/steps/fan_out.py).
"""

from __future__ import annotations

import time
from datetime import timedelta

from prefect import flow

from claims_askes.adjudication.budget import Budget
from claims_askes.adjudication.summary import merge
from claims_askes.core.parameters import takes
from claims_askes.core.runtime import current_flow_run_id
from flows.steps.adjudication import adjudicate_shard, select_pended
from flows.steps.fan_out import ShardReport, publish_report
from schemas.parameters import AdjudicationShardParameters
from schemas.reports import AdjudicationSummary
from tasks.claims import read_queue_clock, read_reason_codes


@flow(name="claim-adjudication-shard")
@takes(AdjudicationShardParameters)
def claim_adjudication_shard(params: AdjudicationShardParameters) -> AdjudicationSummary:
    """Adjudicate the submitted and due pended claims of one member hash bucket."""
    started = time.monotonic()
    flow_run_id = current_flow_run_id()
    summary = AdjudicationSummary(flow_run_id=str(flow_run_id))
    reasons = read_reason_codes()
    run_started = read_queue_clock()
    pended = select_pended(run_started, timedelta(hours=params.pended_review_hours))
    result = adjudicate_shard(
        params.shard,
        params.shards,
        params.chunk_size,
        params.lease_seconds,
        run_started,
        flow_run_id,
        reasons,
        Budget(params.max_claims),
        pended.due,
    )
    watch = merge(summary, [result])
    summary.seconds = round(time.monotonic() - started, 3)
    summary.step_seconds = {k: round(v, 3) for k, v in watch.seconds.items()}
    every_reason = result.tally.reasons
    counts = {} if every_reason is None else {str(k): int(v) for k, v in every_reason.items()}
    publish_report(ShardReport(summary, counts))
    return summary
