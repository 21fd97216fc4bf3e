"""`hub holds list|release`: the cases a service's consumer groups hold back behind a dead-lettered event.

A held case's later events go to the DLQ behind the failed one and apply in order once a replay applies
it (`hub dlq-replay`). When the failed event can never apply (bad data, not a bug), an operator releases
the hold: the group then applies the case's next events as they come; the held ones stay in the DLQ.

The database layer and the table renderer load inside the commands: every `hub` invocation defines these."""

from pathlib import Path

import typer

from hub_cli.servicedb import DATA_DIR, DATABASE_URL, SERVICE_NAMES, TEMPLATE, database_url_of, fail, with_session

holds_app = typer.Typer(help="Cases a consumer group holds back behind a dead-lettered event.", no_args_is_help=True)
SERVICE = typer.Option(..., "--service", help=f"whose consumers: {', '.join(SERVICE_NAMES)}")


@holds_app.command("list")
def list_holds(service: str = SERVICE, group: str = typer.Option("", "--group", help="only this consumer group"),
               data_dir: Path = DATA_DIR, template: str = TEMPLATE, database_url: str = DATABASE_URL) -> None:
    """The held cases, oldest first: which group, which case, behind which event, since when and why."""
    from rich.console import Console
    from rich.table import Table

    from hub_shared.consumer import held_cases
    from hub_shared.jalali import as_utc, to_jalali

    console = Console()
    rows = with_session(service, database_url_of(service, data_dir, template, database_url),
                        lambda session: held_cases(session, group or None))
    if not rows:
        console.print(f"{service}: no held cases" + (f" in {group}" if group else ""))
        return
    table = Table(title=f"{service}: {len(rows)} held case{'s' if len(rows) > 1 else ''}")
    for column in ("group", "case (record key)", "held behind event", "since (UTC / Tehran)", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        since = as_utc(row.held_since)
        table.add_row(row.consumer, row.key, row.first_event_id, f"{since:%Y-%m-%d %H:%M:%S}\n{to_jalali(since)}", row.reason)
    console.print(table)
    console.print("After the fix: hub dlq-replay --only-group GROUP. If the event can never apply: "
                  f"hub holds release --service {service} --group GROUP --key KEY")


@holds_app.command("release")
def release(
    service: str = SERVICE,
    group: str = typer.Option(..., "--group", help="the consumer group holding the cases"),
    keys: list[str] = typer.Option([], "--key", help="a held case's record key (repeatable)"),
    everything: bool = typer.Option(False, "--all", help="every case the group holds"),
    data_dir: Path = DATA_DIR, template: str = TEMPLATE, database_url: str = DATABASE_URL,
) -> None:
    """Let held cases go without their failed event: the group applies their next events as they come."""
    from rich.console import Console
    from sqlmodel.ext.asyncio.session import AsyncSession

    from hub_shared.consumer import held_cases, release_holds

    if bool(keys) == everything:
        fail("give --key KEY (repeatable) or --all, not both" if everything else "give --key KEY (repeatable) or --all")

    async def releasing(session: AsyncSession) -> list[str]:
        async with session.begin():
            held = {row.key for row in await held_cases(session, group)}
            unknown = sorted(set(keys) - held)
            if unknown:
                fail(f"not held by {group} in {service}: {', '.join(unknown)} (see `hub holds list --service {service}`); "
                     "nothing released")
            return await release_holds(session, group, keys or None)

    released = with_session(service, database_url_of(service, data_dir, template, database_url), releasing)
    console = Console()
    if not released:
        console.print(f"{service}: {group} holds no cases; nothing to release")
        return
    console.print(f"{service}: {group} released {', '.join(released)}; their next events apply as they come, "
                  f"and the events held in the DLQ stay there (replay them with hub dlq-replay --only-group {group} if wanted)")

