"""Parameters and reports of the database operations flows (partitions, archiving, backups,
restores, maintenance, monitoring). Parameters are validated here so that the command line,
a deployment and a direct call all refuse the same bad values with the same one-line error.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from claims_askes.core.errors import UnknownIdentifierError
from claims_askes.core.services import known_schema
from schemas.parameters import AGE_SCHEMA, DATE_SCHEMA, IDENTIFIER_SCHEMA

AGE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")
DATABASE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"
BACKUP_ID = r"^[a-z0-9_]+-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$"
HealthStatus = Literal["healthy", "warning", "critical"]


def our_schema(name: str) -> str:
    """`name` if it is one of our schemas; a ValueError (a validation error) otherwise."""
    try:
        return known_schema(name)
    except UnknownIdentifierError as exc:
        raise ValueError(str(exc)) from None


#: The oldest age accepted, per unit: 200 years (a date computed from it stays a date, and
#: an interval of it fits PostgreSQL's).
MAX_AGE = {"d": 73_000, "w": 10_400, "m": 2_400, "y": 200}
AGE_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}


def parse_age(text: str) -> tuple[int, str]:
    """'2y' -> (2, 'y'). Accepts Nd, Nw, Nm, Ny with N positive and at most 200 years."""
    match = AGE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not an age: use Nd, Nw, Nm or Ny (e.g. 2y, 18m, 90d)")
    digits, unit = match.group(1).lstrip("0"), match.group(2)
    if not digits:
        raise ValueError(f"{text!r}: the age must be positive")
    # Too many digits is too old (and never handed to int(), which refuses 4,300 of them).
    amount = int(digits) if len(digits) <= 9 else MAX_AGE[unit] + 1
    if amount > MAX_AGE[unit]:
        raise ValueError(
            f"{str(text).strip()[:40]!r} is too old: at most {MAX_AGE[unit]:,} "
            f"{AGE_UNITS[unit]}" + ("" if unit == "y" else " (200 years)")
        )
    return amount, unit


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, clamped to the month's end (31 Mar - 1m = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cutoff_date(age: str, today: date) -> date:
    """The first service date that is *not* older than `age` on `today` (a ValueError when
    that would be before year 1)."""
    amount, unit = parse_age(age)
    try:
        if unit == "d":
            return today - timedelta(days=amount)
        if unit == "w":
            return today - timedelta(weeks=amount)
        return months_before(today, amount * (12 if unit == "y" else 1))
    except (OverflowError, ValueError):
        raise ValueError(f"{age!r} before {today} is before the year 1") from None


def age_as_interval(age: str) -> str:
    """The age as a PostgreSQL interval literal, e.g. '2 years'."""
    amount, unit = parse_age(age)
    return f"{amount} {AGE_UNITS[unit]}"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartitionParameters(_Params):
    """Parameters of `partition-maintenance`."""

    premake: int = Field(4, ge=0, le=60, description="Months to keep ready after the current")
    move_default_rows: bool = Field(
        False, description="Move rows of the default partition into their month's partition"
    )
    lock_timeout_seconds: float = Field(
        5, gt=0, le=600, description="Give up on a table lock after this long"
    )
    as_of: date | None = Field(
        None,
        description="Business date, YYYY-MM-DD (default: today in Jakarta)",
        json_schema_extra=DATE_SCHEMA,
    )


class ArchivingParameters(_Params):
    """Parameters of `claim-archiving`."""

    older_than: str = Field(
        "2y",
        description="Archive claims older than this: Nd, Nw, Nm, Ny (e.g. 2y, 18m, 90d)",
        json_schema_extra=AGE_SCHEMA,
    )
    batch_size: int = Field(5_000, ge=1, le=200_000, description="Claims per transaction")
    max_batches: int | None = Field(None, ge=1, description="Stop after this many batches")
    lock_timeout_seconds: float = Field(
        5, gt=0, le=600, description="Give up on a table lock after this long"
    )
    as_of: date | None = Field(
        None,
        description="Business date, YYYY-MM-DD (default: today in Jakarta)",
        json_schema_extra=DATE_SCHEMA,
    )

    @field_validator("older_than")
    @classmethod
    def _age(cls, value: str) -> str:
        parse_age(value)
        return value.strip()


# The retention fields, shared by the policy and the backup flow's parameters.
_KEEP_COUNT: dict[str, Any] = dict(
    default=7, ge=1, le=1000, description="Always keep this many newest"
)
_KEEP_DAYS: dict[str, Any] = dict(
    default=14, ge=0, le=3650, description="Keep every backup this young"
)
_MIN_VERIFIED: dict[str, Any] = dict(
    default=2, ge=1, le=100, description="Never leave fewer verified backups than this"
)


class RetentionPolicy(_Params):
    keep_count: int = Field(**_KEEP_COUNT)
    keep_days: float = Field(**_KEEP_DAYS)
    min_verified: int = Field(**_MIN_VERIFIED)


def _schema_name_with_scope(schema: dict[str, Any]) -> None:
    """A schema name with scope 'schema' only, in JSON Schema (the `allOf` that
    `claims-askes deploy` adds to the deployment's parameter schema)."""
    schema["allOf"] = [
        {
            "if": {"properties": {"scope": {"const": "schema"}}, "required": ["scope"]},
            "then": {
                "properties": {"schema_name": {"type": "string", "minLength": 1}},
                "required": ["schema_name"],
            },
            "else": {"properties": {"schema_name": {"type": "null"}}},
        }
    ]


class BackupParameters(_Params):
    """Parameters of `database-backup`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_schema_name_with_scope)

    scope: Literal["full", "schema"] = Field(
        "full", description="full: the whole database; schema: one schema (schema_name)"
    )
    schema_name: str | None = Field(
        None, description="With scope 'schema': which one", json_schema_extra=IDENTIFIER_SCHEMA
    )
    drill: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Restore drill into a scratch database: auto = when the last "
        "successful drill of this scope is older than drill_every_days",
    )
    drill_every_days: float = Field(
        7, gt=0, le=365, description="Days between restore drills (drill 'auto')"
    )
    keep_count: int = Field(**_KEEP_COUNT)
    keep_days: float = Field(**_KEEP_DAYS)
    min_verified: int = Field(**_MIN_VERIFIED)
    max_age_hours: float = Field(
        26, gt=0, le=24 * 90, description="Newest verified backup older than this: failure"
    )
    base_backup: Literal["auto", "full", "incremental", "never"] = Field(
        "auto",
        description="Physical base backup for point-in-time recovery: auto (when the server "
        "archives WAL: incremental on PostgreSQL 17+ after a recent full one, else full), "
        "full, incremental, or never",
    )
    full_every_days: float = Field(
        7, gt=0, le=365, description="auto: a new full base backup after this many days"
    )
    keep_full: int = Field(2, ge=1, le=100, description="Full base backups kept")
    keep_incremental: int = Field(
        6, ge=0, le=1000, description="Incremental base backups kept (of kept full ones)"
    )
    min_redundancy: int = Field(
        1, ge=1, le=100, description="Never fewer verified full base backups than this"
    )

    @property
    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            keep_count=self.keep_count, keep_days=self.keep_days, min_verified=self.min_verified
        )

    @model_validator(mode="after")
    def _schema_given(self) -> BackupParameters:
        if self.scope == "schema":
            if not self.schema_name:
                raise ValueError("scope 'schema' needs a schema name")
            our_schema(self.schema_name)
        elif self.schema_name is not None:
            raise ValueError("a schema name goes with scope 'schema' only")
        return self

    @property
    def scope_key(self) -> str:
        return "full" if self.scope == "full" else f"schema_{self.schema_name}"


#: A WAL location as PostgreSQL writes it (pg_current_wal_lsn()): two hex numbers.
LSN = r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"


class RecoveryTarget(_Params):
    """Where a point-in-time recovery stops: exactly one of a moment, a WAL location, or
    the end of the archive (`latest`)."""

    to_time: datetime | None = Field(
        None,
        description="Recover to this moment (with its zone, e.g. '2026-12-04 10:15:00+07'): "
        "every transaction committed up to it, none after",
    )
    to_lsn: str | None = Field(
        None, pattern=LSN, description="Recover up to this WAL location (e.g. 0/3000060)"
    )
    latest: bool = Field(False, description="Recover everything archived (a lost server)")

    @field_validator("to_time", mode="before")
    @classmethod
    def _short_zone(cls, value: Any) -> Any:
        """'2026-12-04 10:15:00+07' as PostgreSQL writes it: the zone's minutes added."""
        if isinstance(value, str) and re.search(r"[+-]\d{2}$", value.strip()):
            return value.strip() + ":00"
        return value

    @field_validator("to_time")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its zone, e.g. '2026-12-04 10:15:00+07'")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> RecoveryTarget:
        given = [self.to_time is not None, self.to_lsn is not None, self.latest]
        if sum(given) > 1:
            raise ValueError("give one recovery target: --to-time, --to-lsn or --latest")
        return self

    @property
    def given(self) -> bool:
        return self.to_time is not None or self.to_lsn is not None or self.latest

    def describe(self) -> str:
        if self.to_time is not None:
            return f"time {self.to_time.isoformat()}"
        if self.to_lsn is not None:
            return f"LSN {self.to_lsn}"
        return "the end of the archive"


class RestoreParameters(RecoveryTarget):
    """Parameters of `database-restore`: a logical backup into a database (`backup_id`,
    `target_database`), or a point-in-time recovery into a new data directory (one of
    `to_time`, `to_lsn`, `latest`)."""

    backup_id: str | None = Field(
        None,
        pattern=BACKUP_ID,
        description="The logical backup to restore (`claims-askes backup list`)",
    )
    target_database: str | None = Field(
        None,
        pattern=DATABASE_NAME,
        description="The database to restore into: a new one, or an existing one with force",
    )
    data_directory: str | None = Field(
        None,
        max_length=4096,
        description="Point-in-time recovery: the new data directory (default: a new one "
        "under CLAIMS_ASKES_HOME/restores); an existing one only with force, never a "
        "running server's",
    )
    keep: bool = Field(
        False,
        description="Point-in-time recovery: keep the recovered data directory (stopped) "
        "after its checks; default: removed",
    )
    recovery_timeout_seconds: float = Field(
        1800, gt=0, le=86_400, description="Point-in-time recovery: give up after this long"
    )
    schema_name: str | None = Field(
        None, description="Restore only this schema", json_schema_extra=IDENTIFIER_SCHEMA
    )
    clean: bool = Field(False, description="Drop the restored objects first (pg_restore --clean)")
    force: bool = Field(
        False,
        description="Restore into an existing database (never postgres or a template); "
        "recover over a non-empty data directory, moved aside (never a running server's)",
    )

    @field_validator("schema_name")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return None if value is None else our_schema(value)

    @model_validator(mode="after")
    def _one_kind(self) -> RestoreParameters:
        if self.given:
            if self.backup_id or self.target_database or self.schema_name:
                raise ValueError(
                    "a point-in-time recovery (--to-time, --to-lsn, --latest) takes no backup "
                    "id, --target-database or --schema"
                )
            return self
        if not self.backup_id:
            raise ValueError(
                "give a backup id, or a recovery target (--to-time, --to-lsn, --latest)"
            )
        if not self.target_database:
            raise ValueError("restoring a backup needs --target-database")
        if self.data_directory or self.keep:
            raise ValueError("--data-directory and --keep go with a point-in-time recovery")
        return self


class MaintenanceParameters(_Params):
    """Parameters of `database-maintenance`."""

    analyze_tables: bool = Field(True, description="ANALYZE the tables (planner statistics)")
    vacuum: bool = Field(False, description="VACUUM (ANALYZE) the tables")
    reindex_schemas: bool = Field(False, description="REINDEX SCHEMA ... CONCURRENTLY")
    schemas: list[Annotated[str, Field(json_schema_extra=IDENTIFIER_SCHEMA)]] = Field(
        default_factory=list, max_length=100, description="Default: every schema of ours"
    )
    long_running_minutes: float = Field(
        5, gt=0, le=24 * 60, description="Report statements running longer"
    )
    idle_minutes: float = Field(
        30, gt=0, le=7 * 24 * 60, description="Report sessions idle in a transaction longer"
    )
    terminate_idle: bool = Field(False, description="Terminate idle sessions found (explicit)")

    @field_validator("schemas")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return [our_schema(s) for s in value]


class MonitoringParameters(_Params):
    """Parameters of `database-monitoring`."""

    slow_ms: float = Field(
        1000, ge=0, le=3_600_000, description="Mean time above which a statement is slow (ms)"
    )
    backup_max_age_hours: float = Field(
        26, gt=0, le=24 * 90, description="Newest verified backup older than this: critical"
    )
    min_runway_months: int = Field(
        2, ge=0, le=60, description="Months of partitions ahead below which to warn"
    )
    archive_older_than: str = Field(
        "2y",
        description="The archiving age whose backlog to report: Nd, Nw, Nm, Ny (e.g. 2y)",
        json_schema_extra=AGE_SCHEMA,
    )
    as_of: date | None = Field(
        None,
        description="Business date, YYYY-MM-DD (default: today in Jakarta)",
        json_schema_extra=DATE_SCHEMA,
    )
    audit_days: int = Field(
        7, ge=1, le=92, description="Days of audit log growth to report, by mode (row, statement)"
    )

    @field_validator("archive_older_than")
    @classmethod
    def _age(cls, value: str) -> str:
        parse_age(value)
        return value.strip()


# --- reports --------------------------------------------------------------------------------


class HealthCheck(BaseModel):
    check_name: str
    status: HealthStatus
    details: str


class PartitionReport(BaseModel):
    covered_from: date
    covered_to: date  # exclusive
    created: list[str] = Field(default_factory=list)
    default_created: bool = False
    default_rows: int = 0
    default_rows_moved: int = 0
    blocked_months: list[str] = Field(
        default_factory=list, description="months not created: default rows in them"
    )
    problems: list[str] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


class ArchiveReport(BaseModel):
    run_id: str
    cutoff: date
    batches: int = 0
    claims_moved: int = 0
    rows_moved: dict[str, int] = Field(default_factory=dict)
    partitions_moved: list[str] = Field(default_factory=list)
    held_back: int = Field(0, description="claims past the cutoff not settled yet (kept)")
    seconds: float = 0.0


class TableCount(BaseModel):
    schema_name: str
    table: str
    rows: int

    @property
    def qualified(self) -> str:
        return f"{self.schema_name}.{self.table}"


class BackupManifest(BaseModel):
    """Written last, next to the dump: a dump without its manifest is incomplete."""

    backup_id: str
    scope: str
    schema_name: str | None = None
    database: str
    server: str | None = Field(
        None, description="host:port/database the dump came from (None: an older manifest)"
    )
    file: str
    size_bytes: int
    sha256: str
    pg_dump_version: str
    server_version: str
    started_at: datetime
    finished_at: datetime
    tables: list[TableCount]

    @property
    def scope_key(self) -> str:
        return "full" if self.scope == "full" else f"schema_{self.schema_name}"


class VerifyResult(BaseModel):
    backup_id: str
    verified_at: datetime
    ok: bool
    problems: list[str] = Field(default_factory=list)
    drill_ok: bool | None = None
    drill_at: datetime | None = None
    drill_detail: str | None = None


class BackupEntry(BaseModel):
    manifest: BackupManifest
    verification: VerifyResult | None = None

    @property
    def verified(self) -> bool:
        return bool(self.verification and self.verification.ok)


class BackupReport(BaseModel):
    backup_id: str
    size_bytes: int
    seconds_dump: float
    seconds_verify: float
    seconds_drill: float | None = None
    verification: VerifyResult
    deleted: list[str] = Field(default_factory=list)
    newest_verified_at: datetime | None = None
    earlier_verified: list[VerifyResult] = Field(
        default_factory=list,
        description="backups earlier (killed) runs left with a manifest "
        "but no verification, verified by this run",
    )
    drills_dropped: list[str] = Field(
        default_factory=list, description="drill databases killed runs left, dropped"
    )
    pitr: PitrBackupReport | None = Field(
        None, description="the physical base backup for point-in-time recovery"
    )
    server: str | None = Field(None, description="host:port/database backed up")
    other_servers: list[BackupReport] = Field(
        default_factory=list,
        description="with services on several servers: the backup of each further server",
    )

    @property
    def earlier_failed(self) -> list[VerifyResult]:
        return [v for v in self.earlier_verified if not v.ok]


class RestoreReport(BaseModel):
    backup_id: str | None
    target_database: str | None
    schema_name: str | None
    tables_checked: int
    mismatches: list[str] = Field(default_factory=list)
    seconds: float
    recovery: RecoveryReport | None = Field(None, description="a point-in-time recovery's")


class BaseBackup(BaseModel):
    """A physical base backup in the PITR repository: `base/<id>/` (pg_basebackup's plain
    output with its backup_manifest), described by `base/<id>.json`, written last."""

    backup_id: str
    kind: Literal["full", "incremental"]
    parent: str | None = Field(None, description="the full backup an incremental builds on")
    database: str
    server_version: str
    started_at: datetime
    finished_at: datetime
    timeline: int
    start_lsn: str
    stop_lsn: str
    start_wal: str = Field(description="the first WAL segment a restore of it needs")
    size_bytes: int
    verified: bool = False
    problems: list[str] = Field(default_factory=list)
    tables: list[TableCount] = Field(default_factory=list)
    drill_at: datetime | None = None
    drill_ok: bool | None = None
    drill_detail: str | None = None


class RecoveryReport(BaseModel):
    """A point-in-time recovery: where it went, what it used, what its checks found."""

    target: str
    data_directory: str
    base_backups: list[str]
    seconds: float
    recovered_to: str | None = Field(None, description="last replayed LSN and commit time")
    health: list[HealthCheck] = Field(default_factory=list)
    tables: list[TableCount] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    kept: bool = False


class PitrBackupReport(BaseModel):
    backup: BaseBackup | None = None
    skipped: str | None = Field(None, description="why no base backup was taken")
    seconds: float = 0.0
    deleted_backups: list[str] = Field(default_factory=list)
    deleted_wal: int = 0
    drill: str | None = None


class MaintenanceReport(BaseModel):
    analyzed: list[str] = Field(default_factory=list)
    vacuumed: list[str] = Field(default_factory=list)
    reindexed: list[str] = Field(default_factory=list)
    bloat: list[dict[str, object]] = Field(default_factory=list)
    bloat_source: str = "statistics"
    long_running: list[dict[str, object]] = Field(default_factory=list)
    idle: list[dict[str, object]] = Field(default_factory=list)
    terminated: list[int] = Field(default_factory=list)
    lock_waits: list[dict[str, object]] = Field(default_factory=list)


class AuditGrowth(BaseModel):
    """What one business day added to the audit log in one mode: `row` (row audit, one
    entry per changed row with its content) or `statement` (one entry per statement and
    table of a registered batch run; `runs` counts the registrations)."""

    day: date
    mode: Literal["row", "statement"]
    log_rows: int
    log_bytes: int
    runs: int = 0
    server: str | None = None


class MonitoringReport(BaseModel):
    database_size_bytes: int
    tables: list[dict[str, object]] = Field(default_factory=list)
    connections: int
    max_connections: int
    slow_statements: list[dict[str, object]] = Field(default_factory=list)
    slow_statements_note: str | None = None
    checks: list[HealthCheck] = Field(default_factory=list)
    audit_growth: list[AuditGrowth] = Field(default_factory=list)

    @property
    def critical(self) -> list[HealthCheck]:
        return [c for c in self.checks if c.status == "critical"]
