"""No secret leaves the process: not in a flow run's logs or artifacts, not in an error
message of the command line, not in prefect.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from claims_askes.db.connections import with_credentials
from flows.claim_adjudication import claim_adjudication
from tests.conftest import TestDatabase
from tests.run_records import run_logs_and_artifacts
from tests.scenario import Line, Scenario

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "claims-askes")


def secrets_of(db: TestDatabase) -> list[str]:
    from urllib.parse import urlsplit

    admin_password = urlsplit(db.url).password or ""
    return [p for p in [admin_password, *db.cluster.passwords.values()] if len(p) >= 8]


def test_no_secret_in_logs_artifacts_errors_or_deployments(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-SECRET")
        s.benefit(plan, "OP_GP", copay_amount=10_000)
        s.claim(s.member(plan), s.provider(), date(2026, 3, 2), [Line("OP_GP", 50_000)])
        s.claim(s.member(plan), s.provider(), date(2026, 3, 2), [Line(None, 50_000)])
        summary = claim_adjudication()
    text = run_logs_and_artifacts(summary.flow_run_id)
    secrets = secrets_of(db)
    assert secrets and not [p for p in secrets if p in text]

    # A refused login: one line naming the problem, never the URL or its password.
    wrong = with_credentials(db.url, "claims_service_user", "WrongPassword-123456")
    env = dict(os.environ, DATABASE_URL=wrong)
    done = subprocess.run(
        [CLI, "db", "current"], env=env, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "password authentication failed" in output, output
    assert "WrongPassword-123456" not in output and len(output.strip().splitlines()) == 1
    assert not [p for p in secrets if p in output]

    deployment_file = (ROOT / "prefect.yaml").read_text()
    assert not [p for p in secrets if p in deployment_file]
