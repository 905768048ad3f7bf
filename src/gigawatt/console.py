"""The consoles every `gigawatt` command prints through, and its one-line error exits.

Piped or redirected, a line is never wrapped mid-phrase: scripts and logs read each printed line (the
causal chain, a variant label) whole, and tables at their natural width.
"""

from __future__ import annotations

import os

import typer
from rich.console import Console

from gigawatt.safety import excerpt

# Wide enough for any table gigawatt prints; a table still takes only the width it needs.
PIPED_WIDTH = 1000


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, soft_wrap=True, width=PIPED_WIDTH)
    return console


out = make_console()
err = make_console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Bad input: one line naming the problem; exit status 2."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def internal_error(exc: Exception, report_with: str) -> typer.Exit:
    """A bug: one line rather than a traceback, saying what to report it with; exit status 1."""
    err.print(
        f"[bold red]internal error:[/] {type(exc).__name__}: {excerpt(str(exc), 200)} "
        f"(a bug in gigawatt; please report it with {report_with})",
        highlight=False,
        soft_wrap=True,
    )
    return typer.Exit(1)
