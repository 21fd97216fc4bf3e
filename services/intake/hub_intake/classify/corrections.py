"""Staff decisions on topics, out of intake's database as jsonl training rows. Good enough for now: the
file is reviewed and then trained on (`evaluate --extra`); nothing retrains the served model by itself.
The rows carry citizens' words, so the file is personal data: keep it where the database is kept."""

import json
from pathlib import Path
from typing import TextIO

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from hub_intake.models import ClassificationCorrection
from hub_shared.db import is_sqlite, sync_url


class ExportFailed(Exception):
    """The database cannot be read as intake's; the message says what to check."""


def export_corrections(database_url: str, out: TextIO) -> int:
    """Write one {"text", "topic", "suggested", "case_id", "by", "at"} line per decision, oldest first; the count."""
    if is_sqlite(database_url) and not Path(database_url.split("///", 1)[-1]).is_file():
        raise ExportFailed(f"no SQLite database at {database_url.split('///', 1)[-1]}; pass intake's database URL")
    engine = create_engine(sync_url(database_url), hide_parameters=True)
    written = 0
    try:
        with Session(engine) as session:
            for row in session.exec(select(ClassificationCorrection).order_by(col(ClassificationCorrection.id))):
                out.write(json.dumps({"text": row.text, "topic": row.corrected, "suggested": row.suggested,
                                      "case_id": str(row.case_id), "by": row.corrected_by, "at": row.at.isoformat()},
                                     ensure_ascii=False) + "\n")
                written += 1
    except DBAPIError as failed:
        raise ExportFailed(f"cannot read {ClassificationCorrection.__tablename__} ({type(failed.orig).__name__}): is this "
                           "intake's database, migrated to revision 0007 or later?") from None
    finally:
        engine.dispose()
    return written
