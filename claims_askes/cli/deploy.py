"""Commands of deployment and reporting, registered on the main CLI by `register`:

- `claims-askes deploy`: set up the Prefect server of PREFECT_API_URL for this project (work
  pool, queues, global concurrency limits, variables, optionally Secret blocks), then
  `prefect deploy --all` with prefect.yaml;
- `claims-askes report`: the claims dashboard as a self-contained HTML file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from claims_askes.cli.common import console, shown, user_errors
from claims_askes.core.errors import ClaimsAskesError, ConfigError

PREFECT = str(Path(sys.executable).parent / "prefect")


def prefect_api_url() -> str:
    """The Prefect API this command talks to; a running server is required (deployments
    on the ephemeral API would vanish with this process)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ConfigError(
            "PREFECT_API_URL: not set; start a server (`prefect server start`) "
            "and `export PREFECT_API_URL=http://127.0.0.1:4200/api`"
        )
    with get_client(sync_client=True) as client:
        failure = client.api_healthcheck()
    if failure is not None:
        raise ConfigError(f"PREFECT_API_URL: {url} does not answer ({type(failure).__name__})")
    return str(url)


def deploy_command(prefect_file: Path, names: list[str] | None) -> list[str]:
    """`prefect deploy` for every deployment of the file, or for the named ones only."""
    command = [PREFECT, "--no-prompt", "deploy", "--prefect-file", str(prefect_file)]
    if names is None:
        return [*command, "--all"]
    for name in names:
        command += ["--name", name]
    return command


def run_prefect_deploy(prefect_file: Path, names: list[str] | None) -> None:
    """Run `prefect deploy` from the repository root (entrypoints are relative to it)."""
    from deployments.project import ROOT

    done = subprocess.run(
        deploy_command(prefect_file, names), cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception): ", ln)]
        reason = (errors or lines or ["no output"])[-1]
        raise ClaimsAskesError(f"prefect deploy failed (exit {done.returncode}): {reason}")


def schedule_text(schedules: list[dict[str, Any]]) -> str:
    if not schedules:
        return "ad hoc"
    return "; ".join(
        f"{s['slug'] + ': ' if s.get('slug') else ''}"
        f"{s.get('cron') or s.get('interval') or s.get('rrule')} "
        f"({s.get('timezone', 'UTC')})"
        for s in schedules
    )


def worker_hint(url: str, code_dir: Path, stored_secrets: bool) -> str:
    """How to start a worker, and what its environment needs (docs/deployment.md, "Workers
    and their environment")."""
    secrets = (
        "the database secrets it does not set come from the Secret blocks just stored"
        if stored_secrets
        else "DATABASE_URL and the <SERVICE>_DB_PASSWORD variables (no Secret blocks stored)"
    )
    return (
        f"start a worker on each batch machine, in {shown(code_dir)} with the project "
        f"installed: `PREFECT_API_URL={shown(url)} .venv/bin/prefect worker start --pool "
        f"claims-askes --type process`. Its environment needs PREFECT_API_URL, "
        f"CLAIMS_ASKES_BACKUP_DIR (the same directory on every machine) and {secrets}; "
        'see docs/deployment.md, "Workers and their environment". The runs show in the '
        f"Prefect UI at {shown(url.removesuffix('/api'))}"
    )


def deploy(code_dir: Path | None, store_secrets: bool, prefect_file: Path | None) -> None:
    """Set up the server, deploy, and print what was deployed (and what was skipped)."""
    from claims_askes.core.settings import get_settings
    from deployments.project import PREFECT_YAML, ROOT, read_project
    from deployments.setup import add_cross_field_rules, set_up_server

    prefect_file = (prefect_file or PREFECT_YAML).resolve()
    entries = read_project(prefect_file)
    code_dir = (code_dir or ROOT).resolve()
    if not code_dir.is_dir():
        raise ConfigError(f"--code-dir: {code_dir} is not a directory")
    url = prefect_api_url()
    with console.status(f"setting up {shown(url)}"):
        setup = set_up_server(
            code_dir=code_dir, timezone=get_settings().timezone, store_secrets=store_secrets
        )
    console.print(
        f"work pool {shown(setup.work_pool)}; queues: {shown(', '.join(setup.queues))}; "
        f"global limits: {shown(', '.join(setup.limits))}"
    )
    if setup.secrets:
        console.print(f"Secret blocks stored: {shown(', '.join(setup.secrets))}")
    ready = [e for e in entries if e.code_exists]
    missing = [e for e in entries if not e.code_exists]
    if not ready:
        raise ClaimsAskesError(f"{prefect_file}: no deployment has its flow file yet")
    with console.status(f"prefect deploy: {len(ready)} deployments"):
        run_prefect_deploy(prefect_file, None if not missing else [e.name for e in ready])
        add_cross_field_rules(ready)
    table = Table("deployment", "schedule", "queue", "", title=f"deployed to {shown(url)}")
    for entry in entries:
        table.add_row(
            shown(entry.name),
            shown(schedule_text(entry.schedules)),
            shown(entry.work_queue),
            "[green]deployed[/]"
            if entry.code_exists
            else f"[yellow]skipped: no {shown(entry.path.relative_to(ROOT))}[/]",
        )
    console.print(table)
    console.print(worker_hint(url, code_dir, stored_secrets=bool(setup.secrets)))


def register(app: typer.Typer) -> None:
    """Add this module's commands to `claims-askes` and `claims-askes run`."""

    @app.command("deploy")
    @user_errors
    def deploy_cmd(
        code_dir: Annotated[
            Path | None,
            typer.Option(
                help="Where workers find this repository (default: here). Every worker machine "
                "needs the checkout at this path."
            ),
        ] = None,
        store_secrets: Annotated[
            bool,
            typer.Option(
                "--store-secrets",
                help="Store DATABASE_URL and the *_DB_PASSWORD/URL variables set "
                "here as Prefect Secret blocks; a run loads those its worker's "
                "environment lacks (otherwise workers need them in their own "
                "environment).",
            ),
        ] = False,
        prefect_file: Annotated[
            Path | None,
            typer.Option(help="The deployment file (default: prefect.yaml of the repository)."),
        ] = None,
    ) -> None:
        """Set up the Prefect server (pool, queues, limits, variables) and deploy every flow."""
        deploy(code_dir, store_secrets, prefect_file)
