"""`hub outbox parked|release`: the outbox rows a service's relay parked because the broker refused them
for good (too large, topic invalid or not authorised), and letting them go once the cause is fixed.

The database is found as `hub up` finds it: `HUB_DATABASE_URL_TEMPLATE` (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/hub_{service}`) or else the SQLite file in `--data-dir`;
`--database-url` names one database directly (e.g. the service's `DATABASE_URL` in production).
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_cli.stack import SERVICES
from hub_shared import db
from hub_shared.jalali import as_utc, to_jalali
from hub_shared.messaging import OutboxMessage, parked_rows, release
from hub_shared.settings import HubSettings

outbox_app = typer.Typer(help="Outbox rows a service parked because the broker refused them for good.", no_args_is_help=True)
SERVICE_NAMES = [spec.name for spec in SERVICES]
SERVICE = typer.Option(..., "--service", help=f"whose outbox: {', '.join(SERVICE_NAMES)}")
DATA_DIR = typer.Option(Path("var"), "--data-dir", envvar="HUB_DATA_DIR", help="the hub's data folder (SQLite files)")
TEMPLATE = typer.Option("", "--database-url-template", envvar="HUB_DATABASE_URL_TEMPLATE", help="as for `hub up`; empty: SQLite")
DATABASE_URL = typer.Option("", "--database-url", help="this database instead (overrides the template and the data folder)")
T = TypeVar("T")


@outbox_app.command("parked")
def parked(service: str = SERVICE, data_dir: Path = DATA_DIR, template: str = TEMPLATE, database_url: str = DATABASE_URL) -> None:
    """List a service's parked outbox rows, oldest first: what, since when and why."""
    console = Console()
    rows = _with_session(service, _database_url(service, data_dir, template, database_url), parked_rows)
    if not rows:
        console.print(f"{service}: no parked outbox rows")
        return
    table = Table(title=f"{service}: {len(rows)} parked outbox row{'s' if len(rows) > 1 else ''}")
    for column in ("id", "topic", "key", "event type", "parked at (UTC / Tehran)", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        parked_at = as_utc(row.parked_at)
        table.add_row(str(row.id), row.topic, row.key, row.headers.get("ce_type", "?"),
                      f"{parked_at:%Y-%m-%d %H:%M:%S}\n{to_jalali(parked_at)}", row.last_error or "")
    console.print(table)
    console.print(f"After fixing the cause: hub outbox release --service {service} --id N (repeatable) or --all")


@outbox_app.command("release")
def release_rows(
    service: str = SERVICE,
    ids: list[int] = typer.Option([], "--id", min=1, help="a parked row's id (repeatable)"),
    everything: bool = typer.Option(False, "--all", help="every parked row of the service"),
    data_dir: Path = DATA_DIR, template: str = TEMPLATE, database_url: str = DATABASE_URL,
) -> None:
    """Let parked rows go: the service's relay retries them in id order (a row still refused parks again)."""
    console = Console()
    if bool(ids) == everything:
        _fail("give --id N (repeatable) or --all, not both" if everything else "give --id N (repeatable) or --all")
    url = _database_url(service, data_dir, template, database_url)

    async def releasing(session: AsyncSession) -> tuple[list[OutboxMessage], list[int]]:
        async with session.begin():
            before = await parked_rows(session)
            unknown = sorted(set(ids) - {row.id for row in before})
            if unknown:
                _fail(f"not parked in {service}'s outbox: {', '.join(map(str, unknown))} "
                      f"(see `hub outbox parked --service {service}`); nothing released")
            return before, await release(session, ids or None)

    before, released = _with_session(service, url, releasing)
    if not released:
        console.print(f"{service}: no parked outbox rows; nothing to release")
        return
    console.print(f"{service}: released {_ids(released)}; the service's relay publishes released rows in id order at its next poll")
    let_go = [row for row in before if row.id in released]
    behind = [row.id for row in before if row.id not in released
              and any((row.topic, row.key) == (other.topic, other.key) and other.id < row.id for other in let_go)]
    if behind:
        console.print(f"[yellow]still parked behind them (same topic and key): {_ids(behind)}; release those too, "
                      "or later events of those keys stay held[/]")


def _database_url(service: str, data_dir: Path, template: str, database_url: str) -> str:
    if service not in SERVICE_NAMES:
        _fail(f"unknown service {service!r}; use one of {', '.join(SERVICE_NAMES)}")
    if database_url or template:
        return database_url or template.format(service=service.replace("-", "_"))
    url = HubSettings(service_name=service, data_dir=data_dir, database_url="").effective_database_url
    if not Path(url.split("///", 1)[1]).exists():
        _fail(f"no database for {service} at {url.split('///', 1)[1]}: give the hub's --data-dir, or "
              "HUB_DATABASE_URL_TEMPLATE / --database-url for PostgreSQL")
    return url


def _with_session(service: str, url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = db.make_engine(url)
        try:
            async with db.make_sessions(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except SQLAlchemyError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        _fail(f"cannot read {service}'s outbox at {make_url(url).render_as_string(hide_password=True)}: {first_line}. "
              "Is the database up, and migrated (the service migrates when it starts)?", code=1)


def _ids(ids: list[int]) -> str:
    return f"row{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"


def _fail(message: str, code: int = 2) -> NoReturn:
    Console().print(f"[red]{message}[/]")
    raise typer.Exit(code=code)
