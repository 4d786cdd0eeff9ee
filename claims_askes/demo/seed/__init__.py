"""Deterministic Indonesian demo data for a migrated database: `seed_demo_data`.

`generate` builds every table as a pandas DataFrame from one integer seed (pure, no
database); `load` writes each schema through its own service connection with COPY.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel, Field

# Modules, not their functions: `claims_askes.demo.seed.generate` and `.load` stay the modules.
from claims_askes.demo.seed import generate as generation
from claims_askes.demo.seed import load as loading
from claims_askes.demo.seed.generate import DemoData

__all__ = ["DemoData", "SeedReport", "seed_demo_data"]

Progress = Callable[[str, int, int], None]


class SeedReport(BaseModel):
    """What a seeding run wrote and how long it took (the CLI prints it; bench reads it)."""

    members: int
    claims: int
    claim_lines: int
    seed: int
    as_of: date
    row_counts: dict[str, int] = Field(description="rows written, per schema.table")
    elapsed_seconds: float
    generate_seconds: float
    load_seconds: float
    table_seconds: dict[str, float] = Field(
        default_factory=dict, description="load time per schema.table"
    )


def seed_demo_data(
    members: int,
    claims: int,
    seed: int,
    progress: Progress | None = None,
    *,
    as_of: date | None = None,
    workers: int = 1,
) -> SeedReport:
    """Generate and load the demo data into the (empty, migrated) configured database.

    The same `seed` and `as_of` (default: today in Jakarta) give the same database.
    `progress(step, done, total)` is called as generation and each schema's load advance.
    """
    start = time.perf_counter()
    loading.ensure_empty()
    as_of = as_of or generation.default_as_of()
    data = generation.generate(members, claims, seed, as_of=as_of, progress=progress)
    generated = time.perf_counter()
    table_seconds = loading.load(data, progress=progress, workers=workers)
    end = time.perf_counter()
    # What was written (a table of a migration not applied yet is not: load.OPTIONAL_TABLES).
    counts = {name: n for name, n in data.row_counts().items() if name in table_seconds}
    return SeedReport(
        members=members,
        claims=claims,
        claim_lines=counts["claims_service.claim_item"],
        seed=seed,
        as_of=as_of,
        row_counts=counts,
        elapsed_seconds=end - start,
        generate_seconds=generated - start,
        load_seconds=end - generated,
        table_seconds=table_seconds,
    )
