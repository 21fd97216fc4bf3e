"""Registering a case: one transaction stores it, its encrypted complainant and the `case registered`
fact; or links it to the open case it repeats; or refuses it when the matter was already answered."""

import difflib
import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import uuid4

from opentelemetry import propagate, trace
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake import classify, notify
from hub_intake.casefile import announce, apply_fact
from hub_intake.domain import CaseSubmission, Rejection, check, citizen_ref
from hub_intake.models import Case, CaseHistory, Complainant, seal_personal_data
from hub_intake.notify.models import Notification
from hub_intake.settings import IntakeSettings
from hub_shared.db import is_locked
from hub_shared.events import CaseLinked, CaseRegistered, Channel, SourceRef
from hub_shared.jalali import jalali_year
from hub_shared.messaging import trace_context
from hub_shared.reference import org_seed
from hub_shared.groupwrite import GroupWriter
from hub_shared.service import Overloaded, Runtime
from hub_shared.text import normalize_text
from hub_shared.tracking import new_tracking_code
from hub_shared.vault import PersonalDataVault

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
ANSWERED = frozenset({"answered", "archived"})  # statuses follow-up gives a case once answered
NOT_A_MATTER_ON_FILE = frozenset({"rejected", "linked"})
CASES = Case.__table__


@dataclass(frozen=True)
class Origin:
    channel: Channel = Channel.web
    source: SourceRef | None = None
    entered_by: str | None = None


@dataclass(frozen=True)
class Filing:
    """A submission `check` passed, where it came from, and the trace context it was made in (its facts carry it)."""

    submission: CaseSubmission
    origin: Origin = Origin()
    context: dict[str, str] = field(default_factory=trace_context)


@dataclass(frozen=True)
class Outcome:
    case: Case  # the new case, or the earlier one this submission was linked to
    linked: bool = False
    access_code: str | None = None  # anonymous reports: shown once, the only key to follow the report


async def register(runtime: Runtime, settings: IntakeSettings, submission: CaseSubmission, origin: Origin = Origin()) -> Outcome:
    """In its own transaction. Raises Rejection."""
    check(submission, org_seed())
    filing = Filing(submission, origin)
    for _ in range(3):  # a tracking-code collision is astronomically rare; draw again
        try:
            async with runtime.sessions() as session, session.begin():
                outcome = await admit(session, runtime, settings, filing)
        except IntegrityError:
            continue
        runtime.committed()
        return outcome
    raise RuntimeError("could not draw a unique tracking code in 3 attempts")


class GroupCommit(GroupWriter[Filing, "Outcome"]):
    """Registers concurrent submissions together (`GroupWriter`): each group's filings are written with one
    statement per table. If a group's transaction fails, its filings are registered one by one, so one bad filing
    fails only itself; a group that could not take SQLite's write lock within HUB_HTTP_QUEUE_SECONDS is refused
    `Overloaded` (503 with Retry-After) having stored nothing."""

    def __init__(self, runtime: Runtime, settings: IntakeSettings, max_batch: int = 64) -> None:
        super().__init__(runtime.settings.http_queue_seconds, max_batch)
        self._runtime, self._settings = runtime, settings

    async def register(self, submission: CaseSubmission, origin: Origin = Origin()) -> Outcome:
        """Raises Rejection."""
        check(submission, org_seed())
        return await self.submit(Filing(submission, origin))

    async def commit(self, filings: list[Filing]) -> list[Outcome | BaseException]:
        try:
            links = [trace.Link(trace.get_current_span(propagate.extract(filing.context)).get_span_context())
                     for filing in filings]
            with tracer.start_as_current_span("intake register", links=links, attributes={"hub.filings": len(filings)}):
                async with self._runtime.edge_sessions() as session, session.begin():
                    results = await admit_all(session, self._runtime, self._settings, filings)
            self._runtime.committed()
            return results
        except Exception as error:
            if is_locked(error):
                log.warning("group of %d registrations refused: the write lock stayed taken", len(filings))
                return [Overloaded() for _ in filings]
            if len(filings) == 1:
                log.warning("registration failed; trying it alone", exc_info=True)
            else:
                log.warning("group of %d registrations failed; registering them one by one", len(filings), exc_info=True)
            return [await self._alone(filing) for filing in filings]

    async def _alone(self, filing: Filing) -> Outcome | BaseException:
        try:
            return await register(self._runtime, self._settings, filing.submission, filing.origin)
        except Exception as error:
            return error


async def admit(session: AsyncSession, runtime: Runtime, settings: IntakeSettings, filing: Filing) -> Outcome:
    """One filing within the caller's transaction. Raises Rejection."""
    [result] = await admit_all(session, runtime, settings, [filing])
    if isinstance(result, Rejection):
        raise result
    return result


async def admit_all(session: AsyncSession, runtime: Runtime, settings: IntakeSettings,
                    filings: Sequence[Filing]) -> list[Outcome | Rejection]:
    """Within the caller's transaction: each filing's outcome, or the rejection it earned, in order.
    New cases are written with one statement per table for all of them; a citizen's filings in one call
    are admitted one after the other, so the second can be linked to the first."""
    vault = settings.personal_data_vault
    hashes = [None if f.submission.anonymous else vault.lookup_hash(f.submission.national_id) for f in filings]
    results: list[Outcome | Rejection | None] = [None] * len(filings)
    for turn in _turns(hashes):
        decided = await _admit_turn(session, runtime, settings, [filings[i] for i in turn], [hashes[i] for i in turn])
        for i, result in zip(turn, decided):
            results[i] = result
    return results


def _turns(hashes: Sequence[str | None]) -> list[list[int]]:
    """Indices split so that no citizen appears twice in a turn: a citizen's k-th filing goes in turn k."""
    turns: list[list[int]] = []
    filed: Counter[str] = Counter()
    for i, hash_ in enumerate(hashes):
        n = filed[hash_] if hash_ else 0
        if hash_:
            filed[hash_] += 1
        if n == len(turns):
            turns.append([])
        turns[n].append(i)
    return turns


async def _admit_turn(session: AsyncSession, runtime: Runtime, settings: IntakeSettings, filings: list[Filing],
                      hashes: list[str | None]) -> list[Outcome | Rejection]:
    now = datetime.now(UTC)
    vault = settings.personal_data_vault
    earlier_cases = await _same_matters(session, settings, filings, hashes)
    results: list[Outcome | Rejection] = []
    new: list[tuple[Filing, Case, dict | None, dict]] = []  # filing, case, complainant row, classification labels
    linked: list[tuple[Filing, Case, Case]] = []
    for filing, hash_, earlier in zip(filings, hashes, earlier_cases):
        if earlier is not None and earlier.status in ANSWERED:
            results.append(_already_answered(earlier))
            continue
        case = _new_case(filing, now)
        if earlier is not None:
            case.status, case.linked_to = "linked", earlier.case_id
            linked.append((filing, case, earlier))
            results.append(Outcome(case=earlier, linked=True))
            continue
        complainant, access_code = None, None
        if hash_ is None:
            access_code = "".join(secrets.choice("0123456789") for _ in range(10))
            case.access_code_hash = vault.lookup_hash(f"access-code:{access_code}")
        else:
            complainant = _complainant(vault, case, filing.submission, hash_)
        labels = classify.labels(case, filing.submission.subject, filing.submission.description)
        new.append((filing, case, complainant, labels))
        results.append(Outcome(case=case, access_code=access_code))
    await _insert_cases(session, [case for _, case, _, _ in new] + [case for _, case, _ in linked])
    for filing, case, earlier in linked:
        event = CaseLinked(case_id=earlier.case_id, tracking_code=earlier.tracking_code, channel=filing.origin.channel,
                           source_system=case.source_system, external_ref=case.external_ref, linked_at=now)
        await announce(session, runtime, earlier, event, now, event_id=f"{event.event_type}:{case.case_id}")
    await _register_facts(session, runtime, new, now)
    return results


async def _register_facts(session: AsyncSession, runtime: Runtime, new: list[tuple[Filing, Case, dict | None, dict]],
                          now: datetime) -> None:
    """The new cases' complainants, history, `case registered` facts and citizen notices: a statement a table."""
    complainants, history, staged, notices = [], [], [], []
    for filing, case, complainant, labels in new:
        submission = filing.submission
        registered = CaseRegistered(
            case_id=case.case_id, tracking_code=case.tracking_code, case_number=case.case_number, kind=submission.kind,
            channel=filing.origin.channel, target=submission.target, confidential=submission.confidential,
            anonymous=submission.anonymous, citizen_ref=complainant["citizen_ref"] if complainant else None,
            about_employee=submission.about_employee, source_system=case.source_system, external_ref=case.external_ref,
            registered_at=now, **labels,
        )
        history.append(apply_fact(case, registered, now))
        staged.append((registered, filing.context))
        if complainant is not None:
            complainants.append(complainant)
            notices += notify.registered_rows(case, registered, has_email=complainant["email_ciphertext"] is not None)
    for table, rows in ((Complainant, complainants), (CaseHistory, history)):
        if rows:
            await session.execute(insert(table), rows)
    await runtime.stage_all(session, staged)
    if notices:
        await session.execute(insert(Notification), notices)


def _new_case(filing: Filing, now: datetime) -> Case:
    """The case object, not yet stored."""
    submission, origin, target = filing.submission, filing.origin, filing.submission.target
    case = Case(
        case_id=uuid4(), tracking_code=new_tracking_code(), kind=submission.kind.value, channel=origin.channel.value,
        subject_text=submission.subject, description=submission.description, agency=target.agency,
        province=target.province, county=target.county, confidential=submission.confidential,
        about_employee=submission.about_employee, status="registered", unit_id=f"{target.agency}/{target.province}",
        registered_at=now, anonymous=submission.anonymous, complainant_type=submission.complainant_type.value,
        organisation_name=submission.organisation_name, entered_by=origin.entered_by,
        source_system=origin.source.system if origin.source else None, external_ref=origin.source.ref if origin.source else None,
    )
    return case


async def _insert_cases(session: AsyncSession, cases: list[Case]) -> None:
    """Store the cases in one statement; each gets its sequence number and, from it, its case number."""
    if not cases:
        return
    columns = [column.key for column in CASES.columns if column.key != "seq"]
    rows = [{key: getattr(case, key) for key in columns} for case in cases]
    seqs = (await session.execute(insert(CASES).returning(CASES.c.seq, sort_by_parameter_order=True), rows)).scalars().all()
    for case, seq in zip(cases, seqs):
        case.seq, case.case_number = seq, f"{jalali_year(case.registered_at)}-{seq:08d}"
    await session.execute(update(CASES).where(CASES.c.seq == bindparam("b_seq")).values(case_number=bindparam("b_number")),
                          [{"b_seq": case.seq, "b_number": case.case_number} for case in cases])


def _complainant(vault: PersonalDataVault, case: Case, submission: CaseSubmission, national_id_hash: str) -> dict:
    sealed = seal_personal_data(vault, case.case_id, submission.personal_data())
    return {"case_id": case.case_id, "email_ciphertext": None, **sealed, "national_id_hash": national_id_hash,
            "phone_hash": vault.lookup_hash(submission.phone), "citizen_ref": citizen_ref(national_id_hash)}


def _already_answered(earlier: Case) -> Rejection:
    return Rejection("already_answered",
                     f"این موضوع پیش‌تر بررسی و پاسخ داده شده است (کد رهگیری {earlier.tracking_code}) و دوباره رسیدگی نمی‌شود؛ "
                     "برای اعتراض به پاسخ، همان پرونده را بازگشایی کنید.",
                     f"This matter was already examined and answered (tracking code {earlier.tracking_code}); reopen that "
                     "case to object to the answer.", earlier_tracking_code=earlier.tracking_code)


async def _same_matters(session: AsyncSession, settings: IntakeSettings, filings: list[Filing],
                        hashes: list[str | None]) -> list[Case | None]:
    """For each filing, the newest earlier case of the same citizen at the same agency whose text is
    near-identical (one query for all; each citizen's newest 50 cases there are compared)."""
    wanted = {hash_ for hash_ in hashes if hash_}
    if not wanted:
        return [None] * len(filings)
    rows = (await session.exec(
        select(Case, Complainant.national_id_hash).join(Complainant, col(Complainant.case_id) == col(Case.case_id))
        .where(col(Complainant.national_id_hash).in_(wanted), col(Case.status).not_in(NOT_A_MATTER_ON_FILE))
        .order_by(col(Case.registered_at).desc()))).all()
    on_file: dict[tuple[str, str], list[Case]] = {}
    for case, hash_ in rows:
        on_file.setdefault((hash_, case.agency), []).append(case)
    return [_same_matter(settings, filing.submission, on_file.get((hash_, filing.submission.target.agency), [])[:50])
            if hash_ else None for filing, hash_ in zip(filings, hashes)]


def _same_matter(settings: IntakeSettings, submission: CaseSubmission, candidates: list[Case]) -> Case | None:
    text = _matter(submission.subject, submission.description)
    for candidate in candidates:
        if difflib.SequenceMatcher(None, text, _matter(candidate.subject_text, candidate.description)).ratio() >= settings.duplicate_similarity:
            return candidate
    return None


def _matter(subject: str, description: str) -> str:
    return normalize_text(f"{subject} {description}").casefold()
