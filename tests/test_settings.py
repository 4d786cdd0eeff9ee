"""Settings: one class, no default secrets, a one-line error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims_askes.core.errors import ConfigError
from claims_askes.core.services import SERVICES
from claims_askes.core.settings import Settings, load_settings, reset_settings
from claims_askes.db.connections import service_url, with_credentials, with_session_role


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "DATABASE_URL",
        "CLAIMS_DATABASE_URL",
        "CLAIMS_DB_PASSWORD",
        "MEMBER_DB_PASSWORD",
        "CLAIMS_ASKES_PG_PORT",
        "CLAIMS_ASKES_TIMEZONE",
        "CLAIMS_ASKES_PG_BIN_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    reset_settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLAIMS_ASKES_PG_PORT", "80", "CLAIMS_ASKES_PG_PORT: Input should be greater than"),
        ("CLAIMS_ASKES_PG_PORT", "five", "CLAIMS_ASKES_PG_PORT: Input should be a valid integer"),
        ("CLAIMS_ASKES_TIMEZONE", "Mars/Olympus", "CLAIMS_ASKES_TIMEZONE: Value error, unknown"),
        ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL: Value error, must be a postgresql://"),
        ("CLAIMS_DATABASE_URL", "nope", "CLAIMS_DATABASE_URL: Value error, must be a postgresql"),
        ("CLAIMS_ASKES_PG_BIN_DIR", "/nonexistent", "CLAIMS_ASKES_PG_BIN_DIR: Value error"),
        ("CLAIMS_ASKES_SERVICES_AS_OWNER", "yes", "CLAIMS_ASKES_SERVICES_AS_OWNER: Value error"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_no_secret_has_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in SERVICES:
        monkeypatch.delenv(service.url_variable, raising=False)
        monkeypatch.delenv(service.password_variable, raising=False)
    for var in ("REPORTING_DATABASE_URL", "REPORTING_DB_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    secret_fields = [n for n in Settings.model_fields if n.endswith(("_password", "_url"))]
    assert len(secret_fields) >= 20
    assert all(getattr(settings, n) is None for n in secret_fields)


def test_service_url_resolution_order(monkeypatch: pytest.MonkeyPatch) -> None:
    base = "postgresql://owner:ownerpw@db.example:5433/claims_askes"
    monkeypatch.setenv("DATABASE_URL", base)
    reset_settings()
    # No password for the service: DATABASE_URL's login, taking the service's role when the
    # session starts (issue 15, item 3), never the owner itself.
    assert service_url("member") == base + "?options=-c%20role%3Dmember_service_user"
    # ... unless told so in so many words.
    monkeypatch.setenv("CLAIMS_ASKES_SERVICES_AS_OWNER", "yes-i-know")
    reset_settings()
    assert service_url("member") == base
    monkeypatch.delenv("CLAIMS_ASKES_SERVICES_AS_OWNER")
    # With the service's password: its own role on the same server.
    monkeypatch.setenv("CLAIMS_DB_PASSWORD", "p@ss/word")
    reset_settings()
    assert service_url("claims") == (
        "postgresql://claims_service_user:p%40ss%2Fword@db.example:5433/claims_askes"
    )
    # A service URL of its own wins (the service lives on another server).
    monkeypatch.setenv("CLAIMS_DATABASE_URL", "postgresql://c:c@claims-db:5432/claims")
    reset_settings()
    assert service_url("claims") == "postgresql://c:c@claims-db:5432/claims"


def test_the_session_role_is_added_to_the_options_a_url_already_has() -> None:
    url = with_session_role("postgresql://o:p@h/db?sslmode=require&options=-c%20x%3D1", "r_user")
    assert url == "postgresql://o:p@h/db?sslmode=require&options=-c%20x%3D1%20-c%20role%3Dr_user"


def test_with_credentials_keeps_host_port_and_query() -> None:
    url = with_credentials("postgresql://a:b@[::1]:6000/db?sslmode=require", "u", "p")
    assert url == "postgresql://u:p@[::1]:6000/db?sslmode=require"


def test_only_the_documented_variables_configure_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A field's plain name is another program's variable (HOME above all) and is ignored."""
    for var in (
        "CLAIMS_ASKES_HOME",
        "CLAIMS_ASKES_CRASH_AT",
        "CLAIMS_ASKES_BACKUP_DIR",
        "CLAIMS_ASKES_DATABASE",
    ):
        monkeypatch.delenv(var, raising=False)
    strays = {
        "HOME": "/somewhere/else",
        "CRASH_AT": "adjudication.after_write",
        "TIMEZONE": "Europe/London",
        "BACKUP_DIR": "/tmp/elsewhere",
        "PG_PORT": "6000",
        "DATABASE_NAME": "other",
        "PG_BIN_DIR": "/usr/bin",
        "DATABASE_URL_": "x",
        "CLAIMS_DB_PASSWORD_": "x",
    }
    for var, value in strays.items():
        monkeypatch.setenv(var, value)
    settings = load_settings()
    assert settings.home == Path(".claims-askes")
    assert settings.crash_at is None
    assert settings.timezone == "Asia/Jakarta"
    assert settings.backup_dir is None
    assert settings.pg_port == 54329
    assert settings.database_name == "claims_askes"
    assert settings.pg_bin_dir is None
    # The documented names still work.
    monkeypatch.setenv("CLAIMS_ASKES_HOME", "/srv/claims")
    monkeypatch.setenv("CLAIMS_ASKES_TIMEZONE", "Asia/Makassar")
    reset_settings()
    settings = load_settings()
    assert settings.home == Path("/srv/claims")
    assert settings.timezone == "Asia/Makassar"
