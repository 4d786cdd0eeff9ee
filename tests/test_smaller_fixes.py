"""The smaller fixes of issue 18, section 7: monitoring's connections and summary line,
pg_stat_statements on the local server, artifact descriptions, the sweep's "since", the
`deploy` worker hint, flags in `--help`, and telemetry off for every process started."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

import dev
from claims_askes.cli.app import app
from claims_askes.cli.deploy import worker_hint
from claims_askes.core.runtime import TELEMETRY_OFF
from claims_askes.db.localserver import STATEMENTS_CONF, LocalServer, embedded_bin_dir
from claims_askes.db.sqlfiles import queries
from flows import eligibility_sweep as sweep
from flows.database_monitoring import summary_line
from schemas.eligibility import EligibilitySweepSummary
from schemas.ops import HealthCheck, MonitoringReport
from tasks.monitoring import slow_statements
from tests.conftest import Cluster, TestDatabase

ROOT = Path(__file__).resolve().parent.parent

# --- monitoring -----------------------------------------------------------------------------


def test_header_counts_connections_as_the_check_does(db: TestDatabase) -> None:
    """In one transaction (one snapshot of pg_stat_activity) the header's count and the
    connection_count check's are the same."""
    q = queries("common")
    with db.admin(autocommit=False) as conn:
        size = conn.execute(q.database_size).fetchone()
        checks = conn.execute(
            q.health_check,
            {
                "newest_backup": "-infinity",
                "backup_max_age": "3600 seconds",
                "min_runway_months": 2,
                "archive_older_than": "2 years",
                "today": date.today(),
            },
        ).fetchall()
    assert size is not None
    details = {r[0]: r[2] for r in checks}
    assert details["connection_count"] == f"Connections: {size[1]}/{size[2]}"


def test_monitoring_summary_line_has_size_connections_and_statuses() -> None:
    report = MonitoringReport(
        database_size_bytes=3 * 2**20,
        connections=9,
        max_connections=200,
        checks=[
            HealthCheck(check_name="connection_count", status="healthy", details=""),
            HealthCheck(check_name="backup_freshness", status="critical", details=""),
        ],
    )
    line = summary_line(report)
    assert "3.0 MiB" in line and "connections 9/200" in line
    assert "connection_count healthy" in line and "backup_freshness critical" in line


def test_monitoring_logs_its_summary() -> None:
    source = (ROOT / "flows" / "database_monitoring.py").read_text()
    assert "get_run_logger().info(summary_line(report))" in source


# --- pg_stat_statements on the local server -------------------------------------------------


def test_the_embedded_binaries_ship_pg_stat_statements(tmp_path: Path) -> None:
    server = LocalServer(home=tmp_path, bin_dir=embedded_bin_dir(), port=1)
    assert server.ships_statements_module()
    assert not LocalServer(
        home=tmp_path, bin_dir=tmp_path / "bin", port=1
    ).ships_statements_module()


def test_an_older_cluster_gets_pg_stat_statements_preloaded(tmp_path: Path) -> None:
    server = LocalServer(home=tmp_path, bin_dir=embedded_bin_dir(), port=1)
    server.data_dir.mkdir()
    conf = server.data_dir / "postgresql.conf"
    conf.write_text("#shared_preload_libraries = ''\nlisten_addresses = '127.0.0.1'\n")
    server.preload_statements_module()
    server.preload_statements_module()  # once only
    assert conf.read_text().count(STATEMENTS_CONF) == 1
    conf.write_text("shared_preload_libraries = 'auto_explain'\n")
    server.preload_statements_module()  # set by hand: left alone
    assert conf.read_text() == "shared_preload_libraries = 'auto_explain'\n"


def test_the_local_server_loads_pg_stat_statements(cluster: Cluster, db: TestDatabase) -> None:
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("an external server, not the local one")
    with psycopg.connect(cluster.admin_url, autocommit=True) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()
        if not preload or "pg_stat_statements" not in str(preload[0]):
            pytest.skip("this server's binaries have no pg_stat_statements")
        installed = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ).fetchone()
        assert installed, "created in the local server's database"
        conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
    with db.admin() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    _, note = slow_statements.fn(0.0)
    assert note is None


# --- artifact descriptions --------------------------------------------------------------------


def test_every_artifact_has_a_description() -> None:
    missing = []
    for path in [*(ROOT / "flows").glob("*.py"), *(ROOT / "tasks").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"create_markdown_artifact", "create_table_artifact"}
                and not any(k.arg == "description" for k in node.keywords)
            ):
                missing.append(f"{path.name}:{node.lineno}")
    assert not missing


# --- the sweep's "since" -----------------------------------------------------------------------


def test_the_first_sweep_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    first = EligibilitySweepSummary(flow_run_id="x", as_of=date(2026, 1, 31))
    later = EligibilitySweepSummary(
        flow_run_id="y", as_of=date(2026, 2, 28), previous_as_of=date(2026, 1, 31)
    )
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("test-sweep-since")
    logger.addHandler(Capture())
    logger.setLevel(logging.INFO)
    sweep.log_summary(logger, first)
    sweep.log_summary(logger, later)
    assert "changes since the first sweep" in records[0] and "None" not in records[0]
    assert "changes since 2026-01-31" in records[-1]

    shown: list[str] = []
    monkeypatch.setattr(
        sweep, "create_markdown_artifact", lambda **kw: shown.append(kw["markdown"])
    )
    monkeypatch.setattr(sweep, "create_table_artifact", lambda **kw: None)
    faults: Any = SimpleNamespace(summary=lambda: "")
    sweep.publish_artifacts(first, faults)
    assert "Eligibility changes since the first sweep" in shown[0]
    assert "since none" not in shown[0]


# --- deploy's worker hint ---------------------------------------------------------------------


def test_the_worker_hint_names_the_api_url_and_the_environment() -> None:
    hint = worker_hint("http://prefect-host:4200/api", Path("/srv/claims-askes"), False)
    assert "PREFECT_API_URL=http://prefect-host:4200/api" in hint
    assert "prefect worker start --pool claims-askes --type process" in hint
    for needed in ("DATABASE_URL", "_DB_PASSWORD", "CLAIMS_ASKES_BACKUP_DIR", "/srv/claims-askes"):
        assert needed in hint
    assert "Secret blocks" in worker_hint("http://h:4200/api", Path("/srv"), True)
    assert "Workers and their environment" in (ROOT / "docs" / "deployment.md").read_text()


# --- flags in --help --------------------------------------------------------------------------


def test_flags_show_no_type_in_help() -> None:
    result = CliRunner().invoke(
        app, ["run", "database-maintenance", "--help"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "--terminate-idle" in result.output and "<bool>" not in result.output
    assert "<float>" in result.output  # options that take a value keep their type
    demo = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert "--yes" in demo.output and "<bool>" not in demo.output


# --- telemetry off --------------------------------------------------------------------------


def test_dev_py_starts_its_processes_with_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dev.TELEMETRY_OFF == TELEMETRY_OFF
    seen: list[dict[str, str]] = []

    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(kwargs["env"])
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    dev.run(["true"])
    dev.run(["true"], env={"DO_NOT_TRACK": "0", "X": "1"})
    assert dev.static_checks() == 0
    assert seen[0]["DO_NOT_TRACK"] == "1" and seen[0]["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert seen[1]["DO_NOT_TRACK"] == "0" and seen[1]["X"] == "1"  # the user's value kept
    assert all(env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" for env in seen)
