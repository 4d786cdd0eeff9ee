"""Issue 15, item 7: `backup list` changed the mode of whatever directory it was given
(`CLAIMS_ASKES_BACKUP_DIR=/etc claims-askes backup list` set /etc to 0700).

The attack is run with temporary directories standing for /etc: the real command line on
one of ours with mode 0755, one owned by another user, one writable by everybody. Modes are
set only on directories the program makes (a backup's, 0700), an existing directory that
is someone else's or too open is refused in one line, and `list` never makes nor changes
anything."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claims_askes.core.settings import reset_settings
from claims_askes.operations import backup as b
from tests.conftest import TestDatabase

OTHER_UID = 54321  # no such user needed: an owner that is not us


def backup_cli(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`claims-askes backup ARGS` with CLAIMS_ASKES_BACKUP_DIR=directory, in a process."""
    env = dict(os.environ, CLAIMS_ASKES_BACKUP_DIR=str(directory), COLUMNS="250")
    return subprocess.run(
        [sys.executable, "-m", "claims_askes.cli", "backup", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def mode_and_owner(path: Path) -> tuple[int, int]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), info.st_uid


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def backup_dir_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    reset_settings()


def use(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("CLAIMS_ASKES_BACKUP_DIR", str(directory))
    reset_settings()


def test_list_leaves_the_mode_of_an_existing_directory_alone(tmp_path: Path) -> None:
    """The reported attack: an existing, legitimate directory (like /etc: ours, 0755)."""
    etc = tmp_path / "etc"
    etc.mkdir()
    etc.chmod(0o755)
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    result = backup_cli(etc, "list")
    assert result.returncode == 0, result.stderr
    assert mode_and_owner(etc) == (0o755, os.geteuid())


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away needs root")
def test_a_directory_of_another_user_is_refused_and_left_alone(
    tmp_path: Path, backup_dir_env: pytest.MonkeyPatch
) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o755)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    line = one_error_line(backup_cli(theirs, "list"))
    assert line.startswith("error: CLAIMS_ASKES_BACKUP_DIR: ")
    assert f"belongs to uid {OTHER_UID}" in line and "refused" in line
    assert mode_and_owner(theirs) == (0o755, OTHER_UID)

    # A backup (which may create its directory) refuses it the same way.
    use(backup_dir_env, theirs)
    with pytest.raises(b.BackupError, match=f"belongs to uid {OTHER_UID}"):
        b.backup_directory(create=True)
    assert mode_and_owner(theirs) == (0o755, OTHER_UID)
    assert list(theirs.iterdir()) == []  # not even a lock file


def test_a_directory_writable_by_others_is_refused_and_left_alone(
    tmp_path: Path, backup_dir_env: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    line = one_error_line(backup_cli(shared, "list"))
    assert line.startswith("error: CLAIMS_ASKES_BACKUP_DIR: ")
    assert "writable by group or others (mode 0777)" in line
    assert mode_and_owner(shared) == (0o777, os.geteuid())

    shared.chmod(0o770)  # group-writable is too open as well
    use(backup_dir_env, shared)
    with pytest.raises(b.BackupError, match="writable by group or others"):
        b.backup_directory(create=True)
    with pytest.raises(b.BackupError, match="writable by group or others"):
        b.list_backups()
    assert mode_and_owner(shared) == (0o770, os.geteuid())
    assert list(shared.iterdir()) == []


def test_list_creates_nothing_and_a_backup_creates_its_directory_0700(
    db: TestDatabase, tmp_path: Path, backup_dir_env: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "new-parent" / "backups"
    result = backup_cli(fresh, "list")
    assert result.returncode == 0, result.stderr
    assert not fresh.parent.exists()  # list is read-only

    use(backup_dir_env, fresh)
    assert b.list_backups() == [] and not fresh.parent.exists()
    manifest = b.create_backup("schema", "policy_service")
    assert mode_and_owner(fresh) == (0o700, os.geteuid())
    assert mode_and_owner(fresh.parent) == (0o700, os.geteuid())  # made here too
    assert [e.manifest.backup_id for e in b.list_backups()] == [manifest.backup_id]
    listed = backup_cli(fresh, "list")
    assert listed.returncode == 0 and manifest.backup_id in listed.stdout, listed.stderr
    assert mode_and_owner(fresh) == (0o700, os.geteuid())
