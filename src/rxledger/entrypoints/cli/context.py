"""What every CLI command shares: the runtime, the acting user, output helpers and error mapping."""

from __future__ import annotations

import functools
import getpass
import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from rxledger import bootstrap
from rxledger.config import Settings
from rxledger.domain.errors import RxLedgerError
from rxledger.entrypoints.errors import exit_code
from rxledger.services import audit, catalog, identity
from rxledger.services.runtime import Actor, Runtime

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    database_url: str | None = None
    organization: str | None = None
    username: str | None = None
    json_output: bool = False
    _runtime: Runtime | None = field(default=None, repr=False)

    def reset(
        self, database_url: str | None, organization: str | None, username: str | None
    ) -> None:
        """Start a command afresh (the CLI may be invoked many times in one process by tests)."""
        if self._runtime is not None:
            self._runtime.engine.dispose()
        self.database_url, self.organization, self.username = database_url, organization, username
        self.json_output = False
        self._runtime = None

    def runtime(self, *, migrate: bool = False) -> Runtime:
        if self._runtime is None:
            settings = Settings.from_env(self.database_url)
            self._runtime = bootstrap.build(settings, migrate_schema=migrate)
            if not migrate and bootstrap.needs_migration(self._runtime):
                err_console.print(
                    "[red]The database has no rxledger schema yet.[/] Run [bold]rxledger init[/]."
                )
                raise typer.Exit(3)
        return self._runtime

    def actor(self) -> Actor:
        rt = self.runtime()
        org = catalog.organization_by_code(rt, self.organization)
        name = self.username or os.environ.get("RXLEDGER_USER") or _login()
        return identity.console_actor(rt, org.id, name)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


state = CliState()


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print a refused command's stable code and message, and exit with the code's exit status.
    The command's audit rows say it came from the console of this host."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with audit.origin(f"cli {socket.gethostname()}"):
                return command(*args, **kwargs)
        except RxLedgerError as error:
            if state.json_output or kwargs.get("json_output"):
                print(json.dumps({"error": error.as_dict()}, default=str), file=sys.stderr)
            else:
                err_console.print(f"[bold red]{error.code}[/]: {error.message}")
            raise typer.Exit(exit_code(error)) from None

    return wrapper


def emit_json(data: Any) -> None:
    print(json.dumps(data, default=_json_default, indent=None))


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant; a naive one is read as UTC."""
    if text is None:
        return None
    from datetime import UTC

    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
