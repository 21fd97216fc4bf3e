"""Cases from other systems: `SubmitCase` commands on `hub.inbound.v1`.

Each is validated by the same rules as the web form and registered once per (source, reference),
whatever the number of deliveries; a refusal is published as `SubmissionRejected` with the sender's
reference, so the sender can correlate it.
"""

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import RootModel, ValidationError, field_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_intake.domain import CaseSubmission, Rejection, check
from hub_intake.models import Case
from hub_intake.registration import Filing, Origin, admit_all
from hub_intake.settings import IntakeSettings
from hub_shared.envelope import Envelope
from hub_shared.events import Channel, SourceRef, SubmissionRejected, SubmitCase
from hub_shared.events.inbound import SOURCE_PATTERN
from hub_shared.reference import org_seed
from hub_shared.service import Runtime

log = logging.getLogger(__name__)
SHIPPED_SOURCES = Path(__file__).with_name("sources.yaml")


class Sources(RootModel[dict[str, frozenset[Channel]]]):
    """System name -> the channels it may claim."""

    @field_validator("root")
    @classmethod
    def _names(cls, value: dict[str, frozenset[Channel]]) -> dict[str, frozenset[Channel]]:
        for name in value:
            if not re.fullmatch(SOURCE_PATTERN, name):
                raise ValueError(f"source name {name!r} must match {SOURCE_PATTERN}")
        return value

    @classmethod
    def load(cls, path: Path) -> "Sources":
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, ValidationError) as invalid:
            raise SystemExit(f"HUB_INTAKE_SOURCES_FILE {path}: {invalid}") from None


class InboundSubmissions:
    def __init__(self, runtime: Runtime, settings: IntakeSettings) -> None:
        self._runtime = runtime
        self._settings = settings
        self.sources = Sources.load(settings.sources_file or SHIPPED_SOURCES).root

    async def on_submits(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        """A batch of commands in the consumer's transaction: each registered once per (source, reference)."""
        known = await _registered(session, [envelope.data.source for envelope in envelopes])
        filings: list[Filing] = []
        for envelope in envelopes:
            command: SubmitCase = envelope.data
            source = command.source
            if (source.system, source.ref) in known:
                log.info("submission %s:%s already registered", source.system, source.ref)
                continue
            known.add((source.system, source.ref))
            try:
                filings.append(self._filing(envelope))
            except Rejection as refusal:
                self._refuse(session, source, refusal)
        outcomes = await admit_all(session, self._runtime, self._settings, filings)
        for filing, outcome in zip(filings, outcomes):
            source = filing.origin.source
            if isinstance(outcome, Rejection):
                self._refuse(session, source, outcome)
            else:
                log.info("submission %s:%s %s %s", source.system, source.ref, "linked to" if outcome.linked else "registered as",
                         outcome.case.case_number)

    def _filing(self, envelope: Envelope) -> Filing:
        command: SubmitCase = envelope.data
        self._check_source(command)
        submission = _as_submission(command)
        check(submission, org_seed())
        context = {"traceparent": envelope.traceparent} if envelope.traceparent else {}
        return Filing(submission, Origin(channel=command.channel, source=command.source), context)

    def _refuse(self, session: AsyncSession, source: SourceRef, refusal: Rejection) -> None:
        log.info("submission %s:%s rejected: %s", source.system, source.ref, refusal.code)
        self._runtime.stage(session, SubmissionRejected(
            source=source, reason_code=refusal.code, reason_fa=refusal.message_fa, reason_en=refusal.message_en,
            earlier_tracking_code=refusal.earlier_tracking_code, rejected_at=datetime.now(UTC)))

    def _check_source(self, command: SubmitCase) -> None:
        allowed = self.sources.get(command.source.system)
        if allowed is None:
            raise Rejection("unknown_source", "سامانه فرستنده برای ثبت پرونده تعریف نشده است.",
                            f"System {command.source.system!r} is not configured to submit cases (HUB_INTAKE_SOURCES_FILE).")
        if command.channel not in allowed:
            raise Rejection("channel_not_allowed", "این سامانه مجاز به ثبت پرونده از این مسیر نیست.",
                            f"System {command.source.system!r} may not claim channel {command.channel.value!r}.")


async def _registered(session: AsyncSession, sources: list[SourceRef]) -> set[tuple[str, str]]:
    """Which of these (system, reference) pairs are already cases (one query)."""
    rows = await session.exec(select(Case.source_system, Case.external_ref)
                              .where(col(Case.external_ref).in_({source.ref for source in sources})))
    wanted = {(source.system, source.ref) for source in sources}
    return {(system, ref) for system, ref in rows.all() if (system, ref) in wanted}


def _as_submission(command: SubmitCase) -> CaseSubmission:
    identity = command.identity.model_dump() if command.identity else {}
    try:
        return CaseSubmission(
            kind=command.kind, complainant_type=command.complainant_type, organisation_name=command.organisation_name,
            **identity, subject=command.title, description=command.description, target=command.target,
            confidential=command.confidential, about_employee=command.about_employee)
    except ValidationError as invalid:
        fields = ", ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in invalid.errors(include_input=False))
        raise Rejection("invalid_submission", "پرونده ارسالی ناقص یا نامعتبر است؛ فیلدهای نام‌برده را اصلاح کنید.",
                        f"The submission is invalid: {fields}") from None
