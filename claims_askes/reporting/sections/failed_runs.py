"""The flow runs that failed in the last hours, each linked to its page in the Prefect UI."""

from __future__ import annotations

from claims_askes.reporting import formatting as fmt
from claims_askes.reporting.blocks import empty, esc, note, table
from claims_askes.reporting.model import Dashboard, FailedRun


def _row(r: FailedRun, d: Dashboard) -> list[str]:
    when = fmt.moment(r.when.astimezone(d.generated_at.tzinfo)) if r.when else "-"
    return [
        esc(r.flow),
        f'<a href="{esc(r.url)}">{esc(r.name)}</a>' if r.url else esc(r.name),
        esc(r.run_id),
        esc(r.state),
        esc(when),
        esc(r.message or "-"),
    ]


def render(d: Dashboard) -> str:
    head = f"<h2>Failed runs in the last {d.failed_runs_hours} jam</h2>"
    if d.runs_note:
        head += note(d.runs_note)
    if d.failed_runs is None:  # not read
        return head
    if not d.failed_runs:
        return head + empty("no failed runs")
    rows = [_row(r, d) for r in d.failed_runs]
    return head + table(
        ["flow", "run", "run id", "state", "when", "message"], rows, text_columns=6, raw=True
    )
