"""Issue 15, item 3: every service session takes its own role in every configuration, and
`claims-askes db check-privileges` shows what PostgreSQL lets each session do and fails
naming anything beyond a service's contract."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.core.services import SERVICES
from claims_askes.core.settings import reset_settings
from claims_askes.db.connections import service_connection
from tests.conftest import TestDatabase


def check() -> tuple[int, str]:
    result = CliRunner().invoke(app, ["db", "check-privileges"])
    return result.exit_code, result.output


@pytest.mark.usefixtures("service_configuration")
def test_check_privileges_passes_in_each_configuration(db: TestDatabase) -> None:
    code, output = check()
    assert code == 0, output
    assert "every service within its contract (9 sessions checked)" in output
    for svc in SERVICES:
        assert svc.role in output
    assert "EXCESS" not in output


@pytest.mark.usefixtures("service_configuration")
def test_check_privileges_fails_naming_an_excess_grant(db: TestDatabase) -> None:
    with db.admin() as conn:
        conn.execute("GRANT SELECT ON claims_service.claim TO member_service_user")
        conn.execute("GRANT TRUNCATE ON common.reason_code TO payment_service_user")
        conn.execute("GRANT CREATE ON SCHEMA document_service TO document_service_user")
    code, output = check()
    assert code == 1, output
    assert "excess privilege: member: SELECT on schema claims_service" in output
    assert "excess privilege: payment: TRUNCATE on schema common" in output
    assert "excess privilege: document: CREATE on schema document_service" in output
    assert "EXCESS" in output


def test_with_database_url_alone_no_service_session_is_the_owner(
    db: TestDatabase, service_configuration: str
) -> None:
    for svc in SERVICES:
        with service_connection(svc.key) as conn:
            row = conn.execute("SELECT current_user, session_user").fetchone()
        assert row is not None
        assert row[0] == svc.role
        expected_login = "postgres" if service_configuration == "database-url-only" else svc.role
        assert row[1] == expected_login


@pytest.mark.usefixtures("service_configuration")
def test_running_services_as_the_owner_takes_the_loud_setting_and_fails_the_check(
    db: TestDatabase, monkeypatch: pytest.MonkeyPatch, service_configuration: str
) -> None:
    monkeypatch.setenv("CLAIMS_ASKES_SERVICES_AS_OWNER", "yes")
    reset_settings()
    code, output = check()
    assert code == 2
    assert "CLAIMS_ASKES_SERVICES_AS_OWNER: " in output
    monkeypatch.setenv("CLAIMS_ASKES_SERVICES_AS_OWNER", "yes-i-know")
    reset_settings()
    code, output = check()
    if service_configuration == "service-passwords":
        assert code == 0, output  # a service with a password of its own is never the owner
        return
    assert code == 1, output
    assert "WARNING: CLAIMS_ASKES_SERVICES_AS_OWNER=yes-i-know" in output
    assert (
        "excess privilege: claims: the session is 'postgres', not 'claims_service_user'" in output
    )
    assert "excess privilege: claims: the session is a superuser" in output
    monkeypatch.delenv("CLAIMS_ASKES_SERVICES_AS_OWNER")
    reset_settings()
    assert os.environ.get("CLAIMS_ASKES_SERVICES_AS_OWNER") is None
