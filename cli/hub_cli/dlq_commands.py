"""`hub dlq list|show|replay`: what is in the dead-letter topic, one letter in full, and sending them back.

Only typer is imported here: the Kafka client and the table renderer load inside the commands, so
`hub --help` and the other commands do not pay for them.
"""

import json
from datetime import UTC, datetime

import typer

dlq_app = typer.Typer(help="Dead letters on hub.dlq.v1: list them, show one, replay them.", no_args_is_help=True)
BOOTSTRAP = typer.Option("127.0.0.1:9092", "--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="the broker")
AS_JSON = typer.Option(False, "--json", help="print JSON for machines instead of a table")
REASON_WIDTH = 80


def _fail(message: str, code: int) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"[red]{message}[/]", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def _reading(work):
    """Run a DLQ read; the reader's own failures become a one-line error (broker: exit 1, bad ID: exit 2)."""
    from hub_shared.deadletters import BrokerUnreachable, NoSuchLetter

    try:
        return work()
    except BrokerUnreachable as error:
        _fail(str(error), code=1)
    except NoSuchLetter as error:
        _fail(str(error), code=2)


@dlq_app.command("list")
def list_letters(
    bootstrap: str = BOOTSTRAP,
    group: str = typer.Option("", "--group", help="only letters this consumer group dead-lettered"),
    limit: int = typer.Option(50, "--limit", min=0, help="the most recent N letters (0: all)"),
    as_json: bool = AS_JSON,
) -> None:
    """The dead letters, oldest first: ID, age, failing group, origin, event, case, attempts and why."""
    from hub_shared import deadletters as letters

    listing = _reading(lambda: letters.list_letters(bootstrap, group or None, limit))
    now = datetime.now(UTC)
    if as_json:
        typer.echo(json.dumps([letter.summary(now) for letter in listing.letters], ensure_ascii=False, indent=2))
        return
    _print_listing(listing, now, group)


def _print_listing(listing, now: datetime, group: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from hub_shared.deadletters import shorten

    console = Console(markup=False, highlight=False)  # errors quote code, and `[...]` in them is not markup
    if not listing.letters:
        console.print("no dead letters" + (f" from {group}" if group else "") + f" (the DLQ holds {listing.held})")
        return
    table = Table(title=f"{len(listing.letters)} dead letter{'s' if len(listing.letters) > 1 else ''}"
                        + (f" from {group}" if group else "") + f" (the DLQ holds {listing.held})")
    for column in ("ID", "age", "group", "origin", "event", "subject (case)", "attempts", "held behind", "reason"):
        table.add_column(column, overflow="fold")
    for letter in listing.letters:
        reason = shorten(letter.dlq("error"), REASON_WIDTH) + (" [body omitted]" if letter.body_omitted else "")
        table.add_row(str(letter.id), letter.age(now), letter.consumer_group or "?", letter.origin,
                      letter.header("ce_type").removeprefix("ir.hub.") or "?", letter.header("ce_subject") or "—",
                      letter.dlq("attempts") or "?", letter.dlq("held_behind") or "—", reason)
    console.print(table)
    console.print("hub dlq show ID: every header and the body. After the fix: hub dlq replay --only-group GROUP")


@dlq_app.command("show")
def show_letter(letter_id: str = typer.Argument(..., metavar="ID", help="a letter's ID from `hub dlq list`, e.g. 2:17"),
                bootstrap: str = BOOTSTRAP, as_json: bool = AS_JSON) -> None:
    """One dead letter in full: every header, and the body (pretty JSON when it is JSON)."""
    from hub_shared import deadletters as letters

    try:
        wanted = letters.LetterId.parse(letter_id)
    except ValueError as error:
        _fail(str(error), code=2)
    letter = _reading(lambda: letters.find_letter(bootstrap, wanted))
    now = datetime.now(UTC)
    if as_json:
        text, parsed = letter.body_text()
        typer.echo(json.dumps(letter.summary(now) | {
            "key": (letter.key or b"").decode("utf-8", errors="replace"),
            "headers": [[name, letter.header(name)] for name, _ in letter.headers],
            "body": parsed if parsed is not None else text}, ensure_ascii=False, indent=2))
        return
    _print_letter(letter, now)


def _print_letter(letter, now: datetime) -> None:
    typer.echo(f"dead letter {letter.id}, written {letter.written_at:%Y-%m-%d %H:%M:%S} UTC ({letter.age(now)} ago)")
    typer.echo(f"key: {(letter.key or b'').decode('utf-8', errors='replace') or '(none)'}")
    typer.echo("headers:")
    for name, _ in letter.headers:
        value = letter.header(name).replace("\n", "\n    ")  # an error's later lines stay visibly under its header
        typer.echo(f"  {name}: {value}")
    if letter.body_omitted:
        typer.echo(f"body: omitted ({letter.body_omitted}); the original is at {letter.origin}, "
                   "where `hub dlq replay` takes it from while the topic retains it")
        return
    text, parsed = letter.body_text()
    if not text:
        typer.echo("body: (empty)")
    elif parsed is None:
        typer.echo("body (not JSON):")
        typer.echo(text)
    else:
        typer.echo("body:")
        typer.echo(json.dumps(parsed, ensure_ascii=False, indent=2))


def replay_letters(
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS"),
    only_group: str = typer.Option("", help="replay only what this consumer group dead-lettered"),
) -> None:
    """Send dead letters back to their origin topics (after fixing what made them fail)."""
    from rich.console import Console

    from hub_shared.dlq_replay import replay_sync

    console = Console()
    count = replay_sync(bootstrap, only_group=only_group or None, report=console.print)
    console.print(f"{count} dead letters replayed")


dlq_app.command("replay")(replay_letters)
