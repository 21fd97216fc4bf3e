"""Registering a case: one transaction stores it, its encrypted complainant and the `case registered`
fact; or links it to the open case it repeats; or refuses it when the matter was already answered."""

import difflib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake import classify
from hub_intake.casefile import announce
from hub_intake.domain import CaseSubmission, Rejection, check, citizen_ref
from hub_intake.models import Case, Complainant, seal_personal_data
from hub_intake.settings import IntakeSettings
from hub_shared.events import CaseLinked, CaseRegistered, Channel, SourceRef
from hub_shared.jalali import jalali_year
from hub_shared.reference import org_seed
from hub_shared.service import Runtime
from hub_shared.text import normalize_text
from hub_shared.tracking import new_tracking_code

ANSWERED = frozenset({"answered", "archived"})  # statuses follow-up gives a case once answered
NOT_A_MATTER_ON_FILE = frozenset({"rejected", "linked"})


@dataclass(frozen=True)
class Origin:
    channel: Channel = Channel.web
    source: SourceRef | None = None
    entered_by: str | None = None


@dataclass(frozen=True)
class Outcome:
    case: Case  # the new case, or the earlier one this submission was linked to
    linked: bool = False
    access_code: str | None = None  # anonymous reports: shown once, the only key to follow the report


async def register(runtime: Runtime, settings: IntakeSettings, submission: CaseSubmission, origin: Origin = Origin()) -> Outcome:
    """In its own transaction (the HTTP path). Raises Rejection."""
    check(submission, org_seed())
    for _ in range(3):  # a tracking-code collision is astronomically rare; draw again
        try:
            async with runtime.sessions() as session, session.begin():
                outcome = await admit(session, runtime, settings, submission, origin)
        except IntegrityError:
            continue
        runtime.committed()
        return outcome
    raise RuntimeError("could not draw a unique tracking code in 3 attempts")


async def admit(session: AsyncSession, runtime: Runtime, settings: IntakeSettings, submission: CaseSubmission,
                origin: Origin) -> Outcome:
    """Within the caller's transaction, for a submission `check` passed. Raises Rejection."""
    now = datetime.now(UTC)
    vault = settings.personal_data_vault
    national_id_hash = None if submission.anonymous else vault.lookup_hash(submission.national_id)
    earlier = await _same_matter(session, settings, submission, national_id_hash) if national_id_hash else None
    if earlier is not None and earlier.status in ANSWERED:
        raise Rejection("already_answered",
                        f"این موضوع پیش‌تر بررسی و پاسخ داده شده است (کد رهگیری {earlier.tracking_code}) و دوباره رسیدگی نمی‌شود؛ "
                        "برای اعتراض به پاسخ، همان پرونده را بازگشایی کنید.",
                        f"This matter was already examined and answered (tracking code {earlier.tracking_code}); reopen that "
                        "case to object to the answer.", earlier_tracking_code=earlier.tracking_code)
    case = await _new_case(session, submission, origin, now)
    if earlier is not None:
        case.status, case.linked_to = "linked", earlier.case_id
        linked = CaseLinked(case_id=earlier.case_id, tracking_code=earlier.tracking_code, channel=origin.channel,
                            source_system=origin.source.system if origin.source else None,
                            external_ref=origin.source.ref if origin.source else None, linked_at=now)
        await announce(session, runtime, earlier, linked, now, event_id=f"{linked.event_type}:{case.case_id}")
        return Outcome(case=earlier, linked=True)
    access_code, complainant = None, None
    if submission.anonymous:
        access_code = "".join(secrets.choice("0123456789") for _ in range(10))
        case.access_code_hash = vault.lookup_hash(f"access-code:{access_code}")
    else:
        complainant = Complainant(case_id=case.case_id, **seal_personal_data(vault, case.case_id, submission.personal_data()),
                                  national_id_hash=national_id_hash, phone_hash=vault.lookup_hash(submission.phone),
                                  citizen_ref=citizen_ref(national_id_hash))
        session.add(complainant)
    registered = CaseRegistered(
        case_id=case.case_id, tracking_code=case.tracking_code, case_number=case.case_number, kind=submission.kind,
        channel=origin.channel, target=submission.target, confidential=submission.confidential,
        anonymous=submission.anonymous, citizen_ref=citizen_ref(national_id_hash) if national_id_hash else None,
        about_employee=submission.about_employee, source_system=case.source_system, external_ref=case.external_ref,
        registered_at=now, **classify.labels(case, submission.subject, submission.description),
    )
    await announce(session, runtime, case, registered, now, event_id=str(case.case_id), new_complainant=complainant)  # registered once
    return Outcome(case=case, access_code=access_code)


async def _new_case(session: AsyncSession, submission: CaseSubmission, origin: Origin, now: datetime) -> Case:
    target = submission.target
    case = Case(
        case_id=uuid4(), tracking_code=new_tracking_code(), kind=submission.kind.value, channel=origin.channel.value,
        subject_text=submission.subject, description=submission.description, agency=target.agency,
        province=target.province, county=target.county, confidential=submission.confidential,
        about_employee=submission.about_employee, status="registered", unit_id=f"{target.agency}/{target.province}",
        registered_at=now, anonymous=submission.anonymous, complainant_type=submission.complainant_type.value,
        organisation_name=submission.organisation_name, entered_by=origin.entered_by,
        source_system=origin.source.system if origin.source else None, external_ref=origin.source.ref if origin.source else None,
    )
    session.add(case)
    await session.flush()
    case.case_number = f"{jalali_year(now)}-{case.seq:08d}"
    return case


async def _same_matter(session: AsyncSession, settings: IntakeSettings, submission: CaseSubmission,
                       national_id_hash: str) -> Case | None:
    """The newest earlier case of the same citizen, at the same agency, whose text is near-identical."""
    candidates = (await session.exec(
        select(Case).join(Complainant, col(Complainant.case_id) == col(Case.case_id))
        .where(Complainant.national_id_hash == national_id_hash, Case.agency == submission.target.agency,
               col(Case.status).not_in(NOT_A_MATTER_ON_FILE))
        .order_by(col(Case.registered_at).desc()).limit(50))).all()
    text = _matter(submission.subject, submission.description)
    for candidate in candidates:
        if difflib.SequenceMatcher(None, text, _matter(candidate.subject_text, candidate.description)).ratio() >= settings.duplicate_similarity:
            return candidate
    return None


def _matter(subject: str, description: str) -> str:
    return normalize_text(f"{subject} {description}").casefold()
