"""What every command shares: consoles, one-line errors, progress bars, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from ctlabel.errors import CtlabelError

try:  # typer >= 0.25 carries its own click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[assignment]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliSettings:
    """Options of the ``ctlabel`` group that every command obeys."""

    debug: bool = False  # --debug: errors raise with their traceback instead of one line


SETTINGS = CliSettings()
T = TypeVar("T")


class OneLineUsage(TyperGroup):
    """The command group whose usage errors are one line (``error: … (see 'ctlabel x --help')``), exit 2."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        except UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "ctlabel"
            err_console.print(
                f"[bold red]error:[/] {escape(exc.format_message())} (see '{where} --help')",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body; a CtlabelError becomes one red line and exit code 2."""
    try:
        return fn()
    except CtlabelError as exc:
        if SETTINGS.debug:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a folder that cannot be written, a full disk: the file and the reason
        if SETTINGS.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(
            f"[bold red]error:[/] {escape(where + (exc.strerror or str(exc)))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]; nothing half-written was kept")
        raise typer.Exit(130) from None


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (items/s, ETA) on a terminal; silent in pipes and files."""
    if not err_console.is_terminal:
        yield lambda n: None
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.speed:>8.0f}/s" if total else ""),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def print_json(data: Any) -> None:
    """Write ``data`` to stdout as indented JSON (non-ASCII characters kept as they are)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def report_skipped(skipped: list[str], strict: bool, what: str = "rows") -> None:
    """List skipped items at the end; under --strict they fail the command."""
    if not skipped:
        return
    err_console.print(f"[yellow]skipped {len(skipped)} {what}:[/]")
    for line in skipped[:50]:
        err_console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    if len(skipped) > 50:
        err_console.print(f"  … and {len(skipped) - 50} more")
    if strict:
        raise typer.Exit(1)
