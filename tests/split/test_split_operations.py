"""Backups, restores, monitoring and maintenance on two servers: each covers every server
in use, and a backup records the server its dump came from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from claims_askes.cli.app import app
from claims_askes.db.connections import servers, with_database
from claims_askes.operations import backup as b
from claims_askes.operations.common import HealthCheckFailed
from tests.conftest import drop_database, terminal_width
from tests.split.conftest import SplitDatabase


def seed() -> None:
    from claims_askes.demo.seed import seed_demo_data

    seed_demo_data(members=40, claims=150, seed=7)


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def manifest_of(directory: Path, backup_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((directory / f"{backup_id}.json").read_text())
    return data


def schemas_in(manifest: dict[str, object]) -> set[str]:
    tables = manifest["tables"]
    assert isinstance(tables, list)
    return {str(t["schema_name"]) for t in tables}


def test_a_backup_dumps_every_server_and_names_each(
    split_db: SplitDatabase, backup_dir: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.database_backup import database_backup

    seed()
    report = database_backup(drill="always")
    a, b_server = servers()
    assert report.server == a.name and [o.server for o in report.other_servers] == [b_server.name]
    other = report.other_servers[0]
    for each in (report, other):
        assert each.verification.ok and each.verification.drill_ok, each.verification.problems
    # The first server's backups stay where they always were; the other's have a folder.
    on_a = manifest_of(backup_dir, report.backup_id)
    on_b = manifest_of(backup_dir / b.server_folder(b_server), other.backup_id)
    assert (on_a["server"], on_b["server"]) == (a.name, b_server.name)
    assert "claims_service" in schemas_in(on_a) and "member_service" not in schemas_in(on_a)
    assert "member_service" in schemas_in(on_b) and "claims_service" not in schemas_in(on_b)
    tables = on_b["tables"]
    assert isinstance(tables, list)
    rows = {f"{t['schema_name']}.{t['table']}": t["rows"] for t in tables}
    assert rows["member_service.member"] == count(split_db.b.url, "member_service.member") == 40
    assert "@" not in json.dumps(on_a) + json.dumps(on_b)  # no credentials recorded
    # `backup list` shows both, each with its server, although they sit in two folders.
    terminal_width(monkeypatch, 240)
    listed = CliRunner().invoke(app, ["backup", "list"])
    assert listed.exit_code == 0, listed.output
    for backup_id, server in ((report.backup_id, a), (other.backup_id, b_server)):
        shown = [line for line in listed.output.splitlines() if backup_id in line]
        assert len(shown) == 1 and server.name in shown[0], listed.output


def test_each_backup_restores_on_the_server_it_came_from(
    split_db: SplitDatabase, backup_dir: Path, prefect_api: str
) -> None:
    from flows.database_backup import database_backup
    from flows.database_restore import database_restore

    seed()
    report = database_backup(drill="never")
    target = f"{split_db.a.name}_restored"
    try:
        for backup_id, home, table, other in (
            (report.other_servers[0].backup_id, split_db.b, "member_service.member", split_db.a),
            (report.backup_id, split_db.a, "claims_service.claim", split_db.b),
        ):
            restored = database_restore(backup_id=backup_id, target_database=target)
            assert restored.mismatches == []
            assert count(with_database(home.url, target), table) == count(home.url, table) > 0
            with psycopg.connect(other.url) as conn:
                found = conn.execute(
                    "SELECT count(*) FROM pg_database WHERE datname = %s", (target,)
                ).fetchone()
            assert found == (0,)
            drop_database(home.cluster.admin_url, target)
    finally:
        drop_database(split_db.a.cluster.admin_url, target)
        drop_database(split_db.b.cluster.admin_url, target)


def test_monitoring_checks_every_server(
    split_db: SplitDatabase, backup_dir: Path, prefect_api: str
) -> None:
    from flows.database_backup import database_backup
    from flows.database_monitoring import database_monitoring
    from flows.partition_maintenance import partition_maintenance

    today = datetime.now(UTC).date()
    partition_maintenance(premake=3, as_of=today)
    _, b_server = servers()
    # Server A backed up, server B not: B's backup freshness is critical, named by its server.
    b.verify_backup(b.create_backup("full", None).backup_id)
    with pytest.raises(HealthCheckFailed, match=f"backup_freshness \\({b_server.name}\\)"):
        database_monitoring(as_of=today, slow_ms=0)
    database_backup(drill="never")
    report = database_monitoring(as_of=today, slow_ms=0)
    status = {c.check_name: c.status for c in report.checks}
    assert status["backup_freshness"] == status[f"backup_freshness ({b_server.name})"] == "healthy"
    sizes = []
    for database in (split_db.a, split_db.b):
        with psycopg.connect(database.url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            assert row is not None
            sizes.append(int(row[0]))
    # Sizes are the servers' sum (give or take what the checks themselves wrote).
    assert report.database_size_bytes >= max(sizes) + min(sizes) * 0.9
    assert any(t.get("server") == b_server.name for t in report.tables)


def test_maintenance_covers_every_server(split_db: SplitDatabase, prefect_api: str) -> None:
    from flows.database_maintenance import database_maintenance

    seed()
    report = database_maintenance(vacuum=True)
    assert {"claims_service.claim", "member_service.member", "benefit_service.accumulator"} <= set(
        report.vacuumed
    )
    with psycopg.connect(split_db.b.url) as conn:
        row = conn.execute(
            "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables"
            " WHERE schemaname = 'member_service' AND relname = 'member'"
        ).fetchone()
    assert row == (True,)
