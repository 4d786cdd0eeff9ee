"""Shared HTML pieces (escaping, tables, bars, notes): sections say what, not how."""

from __future__ import annotations

import html
from typing import Any

GREEN, RED = "#2e7d32", "#c62828"


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def empty(why: str) -> str:
    """The line a section shows instead of its table or chart when there is nothing."""
    return f'<p class="empty">{esc(why)}</p>'


def note(text: str) -> str:
    """A section's explanation, under its heading."""
    return f'<p class="note">{esc(text)}</p>'


def table(
    headers: list[str], rows: list[list[str]], text_columns: int = 1, raw: bool = False
) -> str:
    """A table across the page width; the first `text_columns` columns are text (left),
    the others numbers (right). Cells are escaped unless `raw` (already HTML)."""

    def cls(i: int) -> str:
        return ' class="t"' if i < text_columns else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{c if raw else esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def bar(value: float, top: float, colour: str) -> str:
    """A CSS bar, `value` of `top` wide."""
    width = 0.0 if top <= 0 else 100 * value / top
    return f'<span class="bar"><i style="width:{width:.1f}%;background:{colour}"></i></span>'
