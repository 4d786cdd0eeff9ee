-- name: previous_sweep_date
-- The latest as-of date swept before this one (eligibility changes are counted against it);
-- NULL when there is none. Parameters: as_of.
SELECT max(e.as_of_date) AS previous_as_of
FROM member_service.member_eligibility AS e
WHERE e.as_of_date < %(as_of)s;

-- name: terminate_expired_coverages
-- Coverages still `active` whose termination date has passed on the as-of date (the date is
-- inclusive: a coverage ending on the as-of date still covers it). Cancelled and terminated
-- coverages are left alone. Idempotent: a rerun finds nothing. Parameters: as_of.
UPDATE member_service.member_coverage AS mc
SET status = 'terminated'
WHERE mc.status = 'active'
  AND mc.termination_date < %(as_of)s;

-- name: sweep_batch
-- The next batch of members after `after` (NULL: from the first), in id order, each with
-- every coverage (cancelled ones too: R3's "first coverage" and the fault checks need them;
-- a member without coverage has one row with null coverage columns). Ordered by member,
-- effective date and coverage id, which the sweep relies on. Read with COPY ... TO STDOUT.
-- Parameters: after (uuid or NULL), batch_size.
WITH batch AS (
    SELECT m.id, m.status, m.enrollment_date, m.termination_date
    FROM member_service.member AS m
    WHERE (%(after)s::uuid IS NULL OR m.id > %(after)s::uuid)
    ORDER BY m.id
    LIMIT %(batch_size)s
)
SELECT b.id AS member_id,
       b.status AS member_status,
       b.enrollment_date,
       b.termination_date AS member_termination_date,
       mc.id AS coverage_id,
       mc.plan_id,
       mc.effective_date,
       mc.termination_date,
       mc.status AS coverage_status
FROM batch AS b
LEFT JOIN member_service.member_coverage AS mc ON mc.member_id = b.id
ORDER BY b.id, mc.effective_date, mc.id

-- name: create_snapshot_stage
-- A batch's computed snapshot rows, copied in before they are upserted (dropped at commit).
CREATE TEMPORARY TABLE eligibility_stage (
    member_id                 UUID PRIMARY KEY,
    is_eligible               BOOLEAN NOT NULL,
    reason                    VARCHAR(40) NOT NULL,
    coverage_id               UUID,
    plan_id                   UUID,
    coverage_effective_date   DATE,
    coverage_termination_date DATE
) ON COMMIT DROP;

-- name: analyze_snapshot_stage
-- Statistics for the filled stage, so that the upsert joins it by hash. Parameters: none.
ANALYZE eligibility_stage;

-- name: snapshot_changes
-- How the staged rows differ from the same members' snapshot of the previous sweep date:
-- a change is a different eligibility, reason or coverage. Parameters: previous_as_of (date
-- or NULL: every row is a first snapshot).
SELECT count(*) FILTER (WHERE p.member_id IS NULL) AS first_snapshots,
       count(*) FILTER (WHERE p.member_id IS NOT NULL
                          AND (p.is_eligible, p.reason, p.coverage_id)
                              IS DISTINCT FROM (s.is_eligible, s.reason, s.coverage_id))
           AS changed,
       count(*) FILTER (WHERE NOT p.is_eligible AND s.is_eligible) AS became_eligible,
       count(*) FILTER (WHERE p.is_eligible AND NOT s.is_eligible) AS became_ineligible
FROM eligibility_stage AS s
LEFT JOIN member_service.member_eligibility AS p
       ON p.member_id = s.member_id AND p.as_of_date = %(previous_as_of)s::date;

-- name: upsert_snapshot
-- The staged rows into the as-of date's snapshot: new members inserted, rows whose content
-- differs replaced (with this run's id and time), identical rows left as they are, so a
-- rerun writes nothing twice. Returns (inserted, updated). Parameters: as_of, flow_run_id.
WITH upserted AS (
    INSERT INTO member_service.member_eligibility AS e (
        member_id, as_of_date, is_eligible, reason, coverage_id, plan_id,
        coverage_effective_date, coverage_termination_date, flow_run_id)
    SELECT s.member_id, %(as_of)s::date, s.is_eligible, s.reason, s.coverage_id, s.plan_id,
           s.coverage_effective_date, s.coverage_termination_date, %(flow_run_id)s::uuid
    FROM eligibility_stage AS s
    ON CONFLICT (member_id, as_of_date) DO UPDATE
    SET is_eligible = EXCLUDED.is_eligible,
        reason = EXCLUDED.reason,
        coverage_id = EXCLUDED.coverage_id,
        plan_id = EXCLUDED.plan_id,
        coverage_effective_date = EXCLUDED.coverage_effective_date,
        coverage_termination_date = EXCLUDED.coverage_termination_date,
        flow_run_id = EXCLUDED.flow_run_id,
        checked_at = now()
    WHERE (e.is_eligible, e.reason, e.coverage_id, e.plan_id, e.coverage_effective_date,
           e.coverage_termination_date)
          IS DISTINCT FROM
          (EXCLUDED.is_eligible, EXCLUDED.reason, EXCLUDED.coverage_id, EXCLUDED.plan_id,
           EXCLUDED.coverage_effective_date, EXCLUDED.coverage_termination_date)
    RETURNING (e.xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM upserted;
