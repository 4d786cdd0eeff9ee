"""What every command module shares: the consoles, one-line errors, progress bars, and
options built from the flows' parameter models.

Command modules import this module and nothing else of the CLI, so the package has no
import cycle; `claims_askes.cli.app` puts the commands together.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from claims_askes.core.errors import ClaimsAskesError

_typer_type_column = typer.core.TyperOption.display_type_rich


def _no_type_for_flags(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """The type column of `--help` for an option: nothing for an on/off flag (Typer 0.29
    shows `<bool>` for them, which says nothing a flag's name does not), unless the option
    sets its own metavar."""
    if self.is_flag and self.metavar is None:
        return None
    return _typer_type_column(self, ctx)


#: One place for every command of the project: `claims_askes.cli.app` imports this module
#: before building its commands.
typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line
F = TypeVar("F", bound=Callable[..., Any])

#: What a terminal could act on in data: C0 and C1 controls (ESC, CSI, BEL, backspace, ...)
#: and the bidirectional overrides and isolates that reorder what is shown.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """Data as the terminal may show it: its text without control characters (a tab or a
    line break becomes a space, so one value stays on one line)."""
    text = str(value)
    return CONTROL.sub(lambda m: " " if m.group() in "\t\n\r" else "", text)


def shown(value: object) -> str:
    """Data to put into rich markup (a message, a table cell or title): `plain`, with its
    brackets escaped, so `[red]` or `[/]` in a claim number is shown, never interpreted."""
    return escape(plain(value))


def error_line(message: object) -> Text:
    """`error: message` with the message literal: no markup, no control characters (shown
    as their escapes, so a bad value can still be told apart), on one line."""
    text = CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(message))
    return Text.assemble(("error:", "bold red"), " ", text)


def user_errors(fn: F) -> F:
    """Print a ClaimsAskesError (or an unreachable server) as one red line and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClaimsAskesError as exc:
            err_console.print(error_line(exc), highlight=False)
            raise typer.Exit(2) from None
        except Exception as exc:
            import psycopg

            if not isinstance(exc, psycopg.OperationalError):
                raise
            # The server is unreachable or refuses us: its one-line reason, never the URL.
            reason = " ".join(str(exc).split())
            err_console.print(error_line(f"database: {reason}"), highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@contextlib.contextmanager
def step_progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per named step, fed by an `advance(step, done, total)` callback (the
    progress hook of seeding and of the operations flows)."""
    tasks: dict[str, Any] = {}
    with progress_bar() as bar:

        def advance(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield advance


@contextlib.contextmanager
def flow_progress() -> Iterator[None]:
    """A rich progress bar fed by the operations flows' progress hook."""
    from claims_askes.operations.common import progress_to

    with step_progress() as advance, progress_to(advance):
        yield


def parameters_error(exc: Exception, option: str | None = None) -> ClaimsAskesError:
    """A pydantic error of a flow's parameters as one line naming the option (`option` for
    a check of the whole model, when it concerns one option)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p != "__root__") or option
        if not where:  # a check across options (e.g. --shard below --shards)
            return ClaimsAskesError(str(first["msg"]).removeprefix("Value error, "))
        message = str(first["msg"]).removeprefix("Value error, ")
        return ClaimsAskesError(f"--{where.replace('_', '-')}: {message}")
    return ClaimsAskesError(str(exc))


M = TypeVar("M", bound=BaseModel)


def parameters(model: type[M], **values: Any) -> M:
    """The flow's parameter model from the options; a bad value is one line (exit 2)."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise parameters_error(exc) from None


def rupiah(value: object) -> str:
    """Rp 1.234.567,89: Indonesian grouping; '-' when not decided yet."""
    if value is None:
        return "-"
    text = f"{value:,.2f}"
    return "Rp " + text.replace(",", "_").replace(".", ",").replace("_", ".")


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print the run's summary as JSON (for scripts).")


def option(model: type[BaseModel], name: str, *flags: str, **extra: Any) -> Any:
    """A typer option whose default and help are the model field's: the flow's parameter
    model is the one source of both. Bounds are left to the model, so that a bad value is
    refused with the same words as a bad value of a Prefect run (see `parameters`)."""
    field = model.model_fields[name]
    return typer.Option(
        field.get_default(call_default_factory=True), *flags, help=field.description, **extra
    )


#: Below this width a listing of many columns prints one block per record instead.
WIDE_ENOUGH_FOR_A_TABLE = 160


def print_records(title: str, columns: tuple[str, ...], rows: list[list[str]], noun: str) -> None:
    """Rows (already `shown`) as a table on a wide terminal; on a narrow one, one block per
    record (as `psql \\x`), so that ids, claim numbers and amounts stay whole for copying."""
    if console.width >= WIDE_ENOUGH_FOR_A_TABLE:
        table = Table(*columns, title=title)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    console.print(f"[bold]{title}[/bold]", highlight=False)
    label = max(len(c) for c in columns)
    for number, row in enumerate(rows, start=1):
        console.print(f"[bold]-- {noun} {number} --[/bold]", highlight=False)
        for column, value in zip(columns, row, strict=True):
            console.print(f"{column:<{label}}  {value}", highlight=False, soft_wrap=True)
