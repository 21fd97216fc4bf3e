"""Finding and opening one service's database from the command line, as `hub up` finds it:
`HUB_DATABASE_URL_TEMPLATE` (e.g. `postgresql+asyncpg://postgres@127.0.0.1:5432/hub_{service}`) or else the
SQLite file in `--data-dir`; `--database-url` names one database directly (the service's `DATABASE_URL`
in production).

The database layer is imported inside the functions that open a database, so that defining these
commands (which every `hub` invocation does) does not load it."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from hub_cli.stack import SERVICES

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

SERVICE_NAMES = [spec.name for spec in SERVICES]
DATA_DIR = typer.Option(Path("var"), "--data-dir", envvar="HUB_DATA_DIR", help="the hub's data folder (SQLite files)")
TEMPLATE = typer.Option("", "--database-url-template", envvar="HUB_DATABASE_URL_TEMPLATE", help="as for `hub up`; empty: SQLite")
DATABASE_URL = typer.Option("", "--database-url", help="this database instead (overrides the template and the data folder)")
T = TypeVar("T")


def database_url_of(service: str, data_dir: Path, template: str, database_url: str) -> str:
    if service not in SERVICE_NAMES:
        fail(f"unknown service {service!r}; use one of {', '.join(SERVICE_NAMES)}")
    if database_url or template:
        return database_url or template.format(service=service.replace("-", "_"))
    from hub_shared.settings import HubSettings

    url = HubSettings(service_name=service, data_dir=data_dir, database_url="").effective_database_url
    if not Path(url.split("///", 1)[1]).exists():
        fail(f"no database for {service} at {url.split('///', 1)[1]}: give the hub's --data-dir, or "
             "HUB_DATABASE_URL_TEMPLATE / --database-url for PostgreSQL")
    return url


def with_session(service: str, url: str, work: Callable[["AsyncSession"], Awaitable[T]]) -> T:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from hub_shared import db

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
        fail(f"cannot read {service}'s database at {make_url(url).render_as_string(hide_password=True)}: {first_line}. "
             "Is the database up, and migrated (the service migrates when it starts)?", code=1)


def row_ids(ids: list[int]) -> str:
    return f"row{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"


def fail(message: str, code: int = 2) -> NoReturn:
    from rich.console import Console

    Console().print(f"[red]{message}[/]")
    raise typer.Exit(code=code)
