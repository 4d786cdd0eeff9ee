"""Benchmark of the payment flows: `python bench/payments.py --payments 1000000`.

On a fresh database (beside the configured one, dropped at the end unless --keep): N approved
cashless claims with a pending claim payment each, spread over 500 providers with (demo)
bank details. Then, timed:

1. `payment-run`: the claim payments read, the payees' bank details read, the payments
   inserted once, the claims service told, batches made and checked, every batch approved
   (threshold above any batch), every bank file written (accounts decrypted, pain.001
   validated against the XSD, CSV);
2. the simulated bank's answers to every file (not timed: the bank's side);
3. `bank-response-import`: every answer read, checked, applied, the claims service told;
4. the baseline: one `INSERT ... SELECT` of the same rows (claim payments into a copy of the
   payment table, in one statement, as the owner, rolled back): the least any payment run
   must spend to copy them.

Prints seconds and rows/s of each and the ratio of (1 + 3) to (4). Not a test: figures vary
with the machine; 1M payments take minutes here (use --payments 50000 for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from rich.console import Console
from rich.table import Table

from bench.seed import drop_database, fresh_database
from claims_askes.core.runtime import patient_local_api
from claims_askes.db.connections import admin_url

DATABASE = "claims_askes_bench_payments"
PROVIDERS = 500
console = Console()

SEED_SQL = """
INSERT INTO provider_service.provider (id, provider_code, name, provider_type)
SELECT gen_random_uuid(), 'PB' || lpad(n::text, 6, '0'), 'RS Bench ' || n, 'hospital'
FROM generate_series(1, %(providers)s) AS n;

CREATE TEMPORARY TABLE bench_provider AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM provider_service.provider;

INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
    claim_type, service_type, service_date, status, total_charged_amount,
    total_approved_amount, submission_date)
SELECT gen_random_uuid(), 'CLM-BENCH-' || lpad(g::text, 8, '0'), gen_random_uuid(), p.id,
       gen_random_uuid(), 'cashless', 'outpatient', DATE '2026-03-01',
       'approved', 150000 + (g %% 1000) * 100, 125000 + (g %% 1000) * 100, now()
FROM generate_series(1, %(payments)s) AS g
JOIN bench_provider AS p ON p.n = 1 + (g %% %(providers)s);

INSERT INTO claims_service.claim_payment (claim_id, payee_type, payee_id, amount, status)
SELECT c.id, 'provider', c.provider_id, c.total_approved_amount, 'pending'
FROM claims_service.claim AS c;
"""

BASELINE_SQL = """
CREATE TEMPORARY TABLE payment_copy (LIKE payment_service.payment INCLUDING DEFAULTS);
INSERT INTO payment_copy (claim_id, claim_number, claim_payment_id, payee_type, payee_id,
    payee_name, amount, currency, status)
SELECT cp.claim_id, c.claim_number, cp.id, cp.payee_type, cp.payee_id, p.name, cp.amount,
       cp.currency, 'pending'
FROM claims_service.claim_payment AS cp
JOIN claims_service.claim AS c ON c.id = cp.claim_id
JOIN provider_service.provider AS p ON p.id = cp.payee_id;
"""


def seed(payments: int) -> None:
    values = {"payments": payments, "providers": PROVIDERS}
    with psycopg.connect(admin_url()) as conn:
        for statement in SEED_SQL.split(";"):
            if statement.strip():
                conn.execute(statement, values if "%(" in statement else None)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def baseline() -> float:
    with psycopg.connect(admin_url()) as conn:
        started = time.perf_counter()
        for statement in BASELINE_SQL.split(";"):
            if statement.strip():
                conn.execute(statement)
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--batch-payments", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="claims-askes-bench-payments-"))
    outbox, inbox = work / "outbox", work / "inbox"
    base = admin_url()
    fresh_database(DATABASE)
    from claims_askes.payments.bank_details import BankKey

    os.environ.setdefault("CLAIMS_ASKES_BANK_KEY", BankKey.generate().text())
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    try:
        console.print(f"seeding {args.payments:,} approved claims with pending payments")
        seed(args.payments)
        from flows.bank_response_import import bank_response_import
        from flows.payment_run import payment_run
        from flows.steps.payments import answer_sent_batches, give_demo_bank_details

        give_demo_bank_details()
        started = time.perf_counter()
        run = payment_run(
            outbox=str(outbox),
            max_batch_payments=args.batch_payments,
            approval_threshold="9999999999999",
        )
        prepared = time.perf_counter() - started
        started = time.perf_counter()
        answer_sent_batches(outbox, inbox, seed=16)
        simulated = time.perf_counter() - started
        started = time.perf_counter()
        imported = bank_response_import(inbox=str(inbox))
        importing = time.perf_counter() - started
        floor = baseline()
    finally:
        if not args.keep:
            drop_database(base, DATABASE)
    n = args.payments
    table = Table("step", "seconds", "payments/s", title=f"payments: {n:,} claim payments")
    table.add_row(
        "payment-run (prepared, batched, files written)", f"{prepared:.1f}", f"{n / prepared:,.0f}"
    )
    table.add_row("bank simulate (not timed in the ratio)", f"{simulated:.1f}", "")
    table.add_row("bank-response-import", f"{importing:.1f}", f"{n / importing:,.0f}")
    table.add_row("baseline: one INSERT ... SELECT", f"{floor:.2f}", f"{n / floor:,.0f}")
    console.print(table)
    console.print(
        f"{run.payments_created:,} payments in {len(run.batches)} batches, "
        f"{len(run.files_written)} files; {imported.paid:,} paid, {imported.retried:,} back "
        f"for a later batch. (run + import) / baseline = {(prepared + importing) / floor:.1f}x "
        f"(files in {work})"
    )


if __name__ == "__main__":
    with patient_local_api():
        main()
