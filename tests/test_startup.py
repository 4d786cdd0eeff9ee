"""A run starts fast: importing a flow module (what a worker does before the first task)
does not import Great Expectations, which alone took 2.5 of the 4.8 s; checkpoints import it
when they first run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deployments.project import read_project

pytestmark = pytest.mark.no_server

MODULES = sorted(
    {e.entrypoint.rpartition(":")[0].removesuffix(".py").replace("/", ".") for e in read_project()}
)


def test_no_flow_module_imports_great_expectations() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'great_expectations'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert len(MODULES) >= 10
    assert done.stdout.strip() == "[]", done.stdout[:500]


def test_a_checkpoint_still_runs_great_expectations() -> None:
    import pandas as pd

    from claims_askes.quality import checkpoints as q

    report = q.run_checkpoint("startup-probe", pd.DataFrame({"a": [1, 2]}), [q.not_null("a")])
    assert report.success and "great_expectations" in sys.modules
