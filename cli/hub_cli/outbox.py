"""`hub outbox parked|release`: the outbox rows a service's relay parked because the broker refused them
for good (too large, topic invalid or not authorised), and letting them go once the cause is fixed. The
database is found as for every such command (`hub_cli.servicedb`); it and the table renderer load inside the
commands, since every `hub` invocation defines these."""

from pathlib import Path

import typer

from hub_cli.servicedb import DATA_DIR, DATABASE_URL, SERVICE_NAMES, TEMPLATE, database_url_of, fail, row_ids, with_session

outbox_app = typer.Typer(help="Outbox rows a service parked because the broker refused them for good.", no_args_is_help=True)
SERVICE = typer.Option(..., "--service", help=f"whose outbox: {', '.join(SERVICE_NAMES)}")


@outbox_app.command("parked")
def parked(service: str = SERVICE, data_dir: Path = DATA_DIR, template: str = TEMPLATE, database_url: str = DATABASE_URL) -> None:
    """List a service's parked outbox rows, oldest first: what, since when and why."""
    from rich.console import Console
    from rich.table import Table

    from hub_shared.jalali import as_utc, to_jalali
    from hub_shared.messaging import parked_rows

    console = Console()
    rows = with_session(service, database_url_of(service, data_dir, template, database_url), parked_rows)
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
    from rich.console import Console
    from sqlmodel.ext.asyncio.session import AsyncSession

    from hub_shared.messaging import OutboxMessage, parked_rows, release

    console = Console()
    if bool(ids) == everything:
        fail("give --id N (repeatable) or --all, not both" if everything else "give --id N (repeatable) or --all")
    url = database_url_of(service, data_dir, template, database_url)

    async def releasing(session: AsyncSession) -> tuple[list[OutboxMessage], list[int]]:
        async with session.begin():
            before = await parked_rows(session)
            unknown = sorted(set(ids) - {row.id for row in before})
            if unknown:
                fail(f"not parked in {service}'s outbox: {', '.join(map(str, unknown))} "
                      f"(see `hub outbox parked --service {service}`); nothing released")
            return before, await release(session, ids or None)

    before, released = with_session(service, url, releasing)
    if not released:
        console.print(f"{service}: no parked outbox rows; nothing to release")
        return
    console.print(f"{service}: released {row_ids(released)}; the service's relay publishes released rows in id order at its next poll")
    let_go = [row for row in before if row.id in released]
    behind = [row.id for row in before if row.id not in released
              and any((row.topic, row.key) == (other.topic, other.key) and other.id < row.id for other in let_go)]
    if behind:
        console.print(f"[yellow]still parked behind them (same topic and key): {row_ids(behind)}; release those too, "
                      "or later events of those keys stay held[/]")
