"""The README's map stays true: every folder and file it names exists, every package of the
code is on it, and every link between the project's pages resolves (a file, and a heading
when the link names one). No page points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Server-independent: not run again in the PostgreSQL 15 pass of dev.py test.
pytestmark = pytest.mark.no_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "RESULTS.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")


def map_rows() -> list[str]:
    """The first column of the README's folder map ("Where things are")."""
    text = README.read_text()
    section = text.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n\n", 2)[1]
    return [line.split("|")[1].strip() for line in table.splitlines()[2:]]


def named_paths(cell: str) -> list[str]:
    return [p.replace("<schema>", "claims_service") for p in CODE.findall(cell)]


def test_every_folder_on_the_map_exists() -> None:
    paths = [p for row in map_rows() for p in named_paths(row)]
    assert len(paths) >= 15
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"README's map names what is not there: {missing}"


def test_every_package_of_the_code_is_on_the_map() -> None:
    on_map = {p.rstrip("/") for row in map_rows() for p in named_paths(row)}
    packages = {
        f"claims_askes/{d.name}"
        for d in (ROOT / "claims_askes").iterdir()
        if (d / "__init__.py").exists()
    }
    top = {"flows", "tasks", "schemas", "deployments", "migrations/claims_service", "tests"}
    assert packages | top <= on_map, sorted((packages | top) - on_map)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_pages_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    assert not broken, f"{page.name}: links that lead nowhere: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_outside_the_repository(page: Path) -> None:
    outside = re.compile(r"\.\./" + "shared|/work/" + "shared")  # split: this file is a page too
    assert not outside.search(page.read_text())
