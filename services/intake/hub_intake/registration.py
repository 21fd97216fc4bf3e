"""Registering a case: one transaction stores it, its encrypted complainant and the `case registered` fact."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from hub_intake.domain import CaseSubmission, check, citizen_ref
from hub_intake.models import Case, Complainant, seal_personal_data
from hub_intake.settings import IntakeSettings
from hub_shared.events import CaseRegistered, Channel
from hub_shared.jalali import jalali_year
from hub_shared.tracking import new_tracking_code
from hub_shared.reference import org_seed
from hub_shared.service import Runtime


async def register(runtime: Runtime, settings: IntakeSettings, submission: CaseSubmission, channel: Channel = Channel.web) -> Case:
    check(submission, org_seed())
    for _ in range(3):  # a tracking-code collision is astronomically rare; draw again
        try:
            case = await _store(runtime, settings, submission, channel)
        except IntegrityError:
            continue
        runtime.committed()
        return case
    raise RuntimeError("could not draw a unique tracking code in 3 attempts")


async def _store(runtime: Runtime, settings: IntakeSettings, submission: CaseSubmission, channel: Channel) -> Case:
    now = datetime.now(UTC)
    national_id_hash = settings.personal_data_vault.lookup_hash(submission.national_id)
    async with runtime.sessions() as session, session.begin():
        case = Case(
            case_id=uuid4(),
            tracking_code=new_tracking_code(),
            kind=submission.kind.value,
            channel=channel.value,
            subject_text=submission.subject,
            description=submission.description,
            agency=submission.target.agency,
            province=submission.target.province,
            county=submission.target.county,
            confidential=submission.confidential,
            status="registered",
            registered_at=now,
        )
        session.add(case)
        await session.flush()
        case.case_number = f"{jalali_year(now)}-{case.seq:08d}"
        session.add(_complainant(settings, case.case_id, submission, national_id_hash))
        runtime.stage(session, CaseRegistered(
            case_id=case.case_id,
            tracking_code=case.tracking_code,
            case_number=case.case_number,
            kind=submission.kind,
            channel=channel,
            target=submission.target,
            confidential=submission.confidential,
            citizen_ref=citizen_ref(national_id_hash),
            registered_at=now,
        ))
    return case


def _complainant(settings: IntakeSettings, case_id: UUID, submission: CaseSubmission, national_id_hash: str) -> Complainant:
    return Complainant(
        case_id=case_id,
        **seal_personal_data(settings.personal_data_vault, case_id, submission.model_dump()),
        national_id_hash=national_id_hash,
        citizen_ref=citizen_ref(national_id_hash),
    )
