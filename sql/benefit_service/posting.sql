-- name: create_posting_table
-- Session-local staging table for ledger entries, filled with COPY. Parameters: none.
CREATE TEMPORARY TABLE posting_input (
    claim_item_id        UUID NOT NULL,
    adjudication_version INTEGER NOT NULL,
    entry_type           VARCHAR(10) NOT NULL,
    member_id            UUID,
    benefit_code         VARCHAR(50),
    year                 INTEGER,
    amount               DECIMAL(15,2),
    deductible           DECIMAL(15,2),
    oop                  DECIMAL(15,2),
    visits               INTEGER,
    days                 INTEGER
) ON COMMIT DROP;

-- name: analyze_posting_table
-- Statistics for the staging table once filled (hash joins, not nested loops).
-- Parameters: none.
ANALYZE posting_input;

-- name: post_ledger_entries
-- Exactly-once posting in one statement. For each line version in posting_input: every
-- earlier version's 'post' entry of the line gets its 'reverse' (the exact negative, taken
-- from the ledger itself; only a version above 1 has earlier ones, so a first decision
-- never reads the ledger), and an approved version ('post' rows) gets its own entry. Entries
-- already in the ledger (a replay after a crash, or a concurrent run) insert nothing and so
-- add nothing; the accumulators receive the sums of the entries actually inserted.
-- Parameters: flow_run_id.
WITH reversed AS (
    INSERT INTO benefit_service.accumulator_posting
        (claim_item_id, adjudication_version, entry_type, member_id, benefit_code, year,
         amount, deductible, oop, visits, days, flow_run_id)
    SELECT e.claim_item_id, e.adjudication_version, 'reverse', e.member_id, e.benefit_code,
           e.year, -e.amount, -e.deductible, -e.oop, -e.visits, -e.days, %(flow_run_id)s
    FROM posting_input AS p
    JOIN benefit_service.accumulator_posting AS e ON e.claim_item_id = p.claim_item_id
    WHERE p.adjudication_version > 1
      AND e.entry_type = 'post'
      AND e.adjudication_version < p.adjudication_version
    ORDER BY e.claim_item_id, e.adjudication_version
    ON CONFLICT ON CONSTRAINT pk_accumulator_posting DO NOTHING
    RETURNING member_id, benefit_code, year, amount, deductible, oop, visits, days
),
posted AS (
    INSERT INTO benefit_service.accumulator_posting
        (claim_item_id, adjudication_version, entry_type, member_id, benefit_code, year,
         amount, deductible, oop, visits, days, flow_run_id)
    SELECT p.claim_item_id, p.adjudication_version, 'post', p.member_id, p.benefit_code,
           p.year, p.amount, p.deductible, p.oop, p.visits, p.days, %(flow_run_id)s
    FROM posting_input AS p
    WHERE p.entry_type = 'post'
    ORDER BY p.claim_item_id
    ON CONFLICT ON CONSTRAINT pk_accumulator_posting DO NOTHING
    RETURNING member_id, benefit_code, year, amount, deductible, oop, visits, days
),
inserted AS (
    SELECT * FROM reversed
    UNION ALL
    SELECT * FROM posted
),
totals AS (
    SELECT member_id, benefit_code, year,
           sum(amount) AS amount, sum(deductible) AS deductible, sum(oop) AS oop,
           sum(visits)::int AS visits, sum(days)::int AS days, count(*) AS entries
    FROM inserted
    GROUP BY member_id, benefit_code, year
),
updated AS (
    UPDATE benefit_service.accumulator AS a
    SET amount_used = a.amount_used + t.amount,
        deductible_used = a.deductible_used + t.deductible,
        oop_used = a.oop_used + t.oop,
        visits_used = a.visits_used + t.visits,
        days_used = a.days_used + t.days,
        last_updated = now()
    FROM totals AS t
    WHERE a.member_id = t.member_id
      AND a.benefit_code = t.benefit_code
      AND a.year = t.year
    RETURNING a.member_id, a.benefit_code, a.year
),
-- A key seen for the first time comes from posts only (a reversal follows its post), so
-- the new row is never negative; a concurrent creator of the same key is added to.
created AS (
    INSERT INTO benefit_service.accumulator AS a
        (member_id, benefit_code, year, amount_used, deductible_used, oop_used,
         visits_used, days_used, last_updated)
    SELECT t.member_id, t.benefit_code, t.year, t.amount, t.deductible, t.oop, t.visits,
           t.days, now()
    FROM totals AS t
    WHERE NOT EXISTS (
        SELECT 1 FROM updated AS u
        WHERE u.member_id = t.member_id AND u.benefit_code = t.benefit_code
          AND u.year = t.year)
    ORDER BY t.member_id, t.benefit_code, t.year
    ON CONFLICT ON CONSTRAINT uk_accumulator DO UPDATE SET
        amount_used = a.amount_used + EXCLUDED.amount_used,
        deductible_used = a.deductible_used + EXCLUDED.deductible_used,
        oop_used = a.oop_used + EXCLUDED.oop_used,
        visits_used = a.visits_used + EXCLUDED.visits_used,
        days_used = a.days_used + EXCLUDED.days_used,
        last_updated = now()
    RETURNING 1
)
SELECT coalesce((SELECT sum(entries) FROM totals), 0)::bigint AS entries_inserted,
       (SELECT count(*) FROM reversed) AS reversals,
       (SELECT count(*) FROM updated) + (SELECT count(*) FROM created)
           AS accumulators_touched;
