"""Intake wiring: settings, database, broker, HTTP routes, the case-fact consumer, the rating releaser."""

from pathlib import Path

from hub_intake import api, attachment_policy, attachments, citizen, classification_api, notify, staff
from hub_intake.casefile import TRACKED, load_cases, on_case_fact
from hub_intake.inbound import InboundSubmissions
from hub_intake.ratings import releaser
from hub_intake.settings import IntakeSettings
from hub_shared.consumer import Subscription
from hub_shared.events import CaseClassified, CaseLinked, CaseRegistered, RatingSubmitted, SubmissionRejected, SubmitCase
from hub_shared.service import Runtime
from hub_shared.settings import HubSettings
from hub_shared.topics import CASES, FEEDBACK, INBOUND


def create_runtime(settings: HubSettings) -> Runtime:
    intake = IntakeSettings()
    runtime = Runtime(settings, migrations=Path(__file__).parent / "migrations", secret_settings=[intake],
                      description="Citizen edge: registers cases, lets citizens track them and rate visits, and shows staff "
                                  "the cases of their units.")
    runtime.publisher(CASES.name, CaseRegistered)
    runtime.publisher(FEEDBACK.name, RatingSubmitted)
    runtime.add_subscription(Subscription(topic=CASES.name, group="intake",
                                          handlers={model.event_type: on_case_fact for model in TRACKED}, prepare=load_cases,
                                          prompt=False))
    # one group per subscription: a group whose members read different topics had the broker hand hub.cases.v1
    # partitions to the inbound consumer after a broker restart, which skipped them as not its business
    runtime.add_subscription(Subscription(topic=INBOUND.name, group="intake-inbound",
                                          batch_handlers={SubmitCase.event_type: InboundSubmissions(runtime, intake).on_submits}))
    runtime.publisher(CASES.name, CaseLinked)
    runtime.publisher(CASES.name, SubmissionRejected)
    runtime.publisher(CASES.name, CaseClassified)
    proof = citizen.CitizenProof(runtime, intake)
    runtime.routers += [api.router(runtime, intake), citizen.router(runtime, intake, proof), staff.router(runtime, intake),
                        attachments.router(runtime, intake, proof)]
    runtime.routers.append(classification_api.router(runtime, intake))
    runtime.routers.append(attachment_policy.router(intake))
    runtime.body_limits.append((r"/api/v1/cases/(track|[0-9a-f-]+)/attachments$", intake.max_attachment_bytes * 4 // 3 + 10_000))
    runtime.untraced_paths.append(citizen.FEEDBACK_PATH.lstrip("/"))
    runtime.background.append(releaser(runtime, intake.rating_release_seconds))
    notify.install(runtime, intake)
    return runtime
