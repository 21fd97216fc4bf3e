"""python -m hub_intake.classify evaluate [--extra corrections.jsonl]
python -m hub_intake.classify export-corrections <database-url> [--out corrections.jsonl]"""

import argparse
import os
import sys
from pathlib import Path

from hub_intake.classify.corrections import ExportFailed, export_corrections
from hub_intake.classify.evaluation import evaluate, report
from hub_intake.classify.examples import load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub_intake.classify", description="Intake's topic classifier")
    commands = parser.add_subparsers(dest="command", required=True)
    scoring = commands.add_parser("evaluate", help="accuracy, macro-F1 and confusions on the held-out examples")
    scoring.add_argument("--extra", type=Path, help="more training examples (jsonl of text and topic), e.g. exported corrections")
    exporting = commands.add_parser("export-corrections", help="staff topic decisions as jsonl training rows")
    exporting.add_argument("database_url", help="intake's database, e.g. sqlite+aiosqlite:///var/intake.db")
    exporting.add_argument("--out", type=Path, help="file to write (created readable by its owner only); default stdout")
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        print(report(evaluate(load(args.extra) if args.extra else ())))
        return 0
    try:
        written = _export(args.database_url, args.out)
    except ExportFailed as failed:
        print(f"export-corrections: {failed}", file=sys.stderr)
        return 1
    print(f"{written} decisions exported", file=sys.stderr)
    return 0


def _export(database_url: str, path: Path | None) -> int:
    if path is None:
        return export_corrections(database_url, sys.stdout)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        return export_corrections(database_url, out)


if __name__ == "__main__":
    sys.exit(main())
