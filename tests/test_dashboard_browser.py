"""The claims operations dashboard in a real headless browser (Debian's chromium through
Playwright): built by the `claims-dashboard` flow from a seeded and adjudicated database,
read as reporting_user; the page renders with no script error, no text overflows its box
and the page never scrolls sideways, at desktop and at phone width."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect import flow

from tests.conftest import TestDatabase

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# One seeded database for the module; the browser checks only read the page.
pytestmark = pytest.mark.embedded_only

OVERFLOWS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg') || el.clientWidth === 0) continue;
    const text = (el.innerText || '').trim();
    if (!text) continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + ': ' + text.slice(0, 60));
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) out.push('page scrolls sideways: '
      + doc.scrollWidth + ' > ' + window.innerWidth);
  return out;
}"""


@dataclass
class Built:
    db: TestDatabase
    page: Path
    html: str
    screenshots: Path


@flow(name="dashboard-test-failure")
def always_fails() -> None:
    raise RuntimeError("deliberate failure for the dashboard's errors section")


@pytest.fixture(scope="module")
def built(
    module_db: TestDatabase, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    from claims_askes.demo.seed import seed_demo_data
    from claims_askes.demo.seed.history import spread_decision_times
    from flows.claim_adjudication import claim_adjudication
    from flows.claims_dashboard import claims_dashboard

    seed_demo_data(members=60, claims=400, seed=42)
    started = datetime.now(UTC)
    claim_adjudication()
    moved = spread_decision_times(started)
    assert moved > 300  # the demo's decisions, now days after their submissions
    with module_db.admin() as conn:  # a few claims paid, as the payment run would
        conn.execute("""
            INSERT INTO payment_service.payment
                (claim_id, claim_payment_id, payee_type, payee_id, amount, status, paid_at)
            SELECT c.id, gen_random_uuid(), 'provider', c.provider_id,
                   greatest(c.total_approved_amount, 1), 'paid',
                   least(now(), c.adjudicated_at + (row_number() OVER (ORDER BY c.claim_number))
                                                   * interval '7 hours')
            FROM claims_service.claim AS c
            WHERE c.status IN ('approved', 'partially_approved')
            ORDER BY c.claim_number DESC LIMIT 40""")
    always_fails(return_state=True)
    out = tmp_path_factory.mktemp("dashboard")
    outcome = claims_dashboard(output=str(out / "claims-dashboard.html"))
    page = Path(outcome.path)
    yield Built(db=module_db, page=page, html=page.read_text(), screenshots=out)


def test_the_flow_writes_every_section_from_the_database(built: Built) -> None:
    html = built.html
    for heading in (
        "Backlog and aging",
        "Pended claims",
        "Service levels",
        "Providers with the most rejections",
        "Failed runs in the last 24 jam",
        "Rejection reasons",
    ):
        assert f"<h2>{heading}" in html, heading
    assert "PREAUTH_PENDING" in html  # a pended claim and why it waits
    assert "dashboard-test-failure" in html and "/runs/flow-run/" in html  # linked
    assert "no payments yet" not in html and "claims paid" in html
    assert re.search(r"Rp \d+(,\d)? (juta|miliar)", html)
    assert "<script" not in html and not re.search(r"(src|href)=\"https?://(?!127)", html)


def test_the_demo_decides_its_claims_over_days_after_their_submission(built: Built) -> None:
    with built.db.admin() as conn:
        row = conn.execute("""
            SELECT count(*),
                   count(*) FILTER (WHERE c.adjudicated_at < c.submission_date
                                       OR c.adjudicated_at > now()),
                   count(DISTINCT c.adjudicated_at::date),
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(EPOCH FROM c.adjudicated_at - c.submission_date) / 3600),
                   (SELECT count(*) FROM claims_service.claim_item AS ci
                    JOIN claims_service.claim AS d ON d.id = ci.claim_id
                    WHERE d.status IN ('approved', 'partially_approved', 'rejected')
                      AND ci.adjudicated_at IS DISTINCT FROM d.adjudicated_at)
            FROM claims_service.claim AS c
            WHERE c.status IN ('approved', 'partially_approved', 'rejected')""").fetchone()
    assert row is not None
    decided, impossible, days, median_hours, lines_apart = row
    assert decided > 300 and impossible == 0 and lines_apart == 0
    assert days > 100  # decided over the months the claims were submitted in
    assert 6 < median_hours < 48


def test_the_page_renders_in_chromium_without_errors_or_overflow(built: Built) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; "
            "`python3 dev.py test` does it when run as root)"
        )
    assert shutil.which("chromium") or CHROMIUM.exists()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
                page.on(
                    "console",
                    lambda msg: (
                        errors.append(f"console: {msg.text}") if msg.type == "error" else None
                    ),
                )
                page.goto(built.page.as_uri())
                page.wait_for_load_state("load")
                shot = built.screenshots / f"dashboard-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 50_000 and shot.read_bytes()[:4] == b"\x89PNG"
                assert page.evaluate(OVERFLOWS) == [], width
                assert page.locator("h2").count() >= 7
                page.close()
        finally:
            browser.close()
    assert errors == []
