"""The `claims-askes` command (console script: `claims_askes.cli:main`)."""

from __future__ import annotations


def main() -> None:
    """Run the command line with Prefect's local API given time to start."""
    from claims_askes.cli.app import app
    from claims_askes.core.runtime import patient_local_api

    with patient_local_api():
        app()
