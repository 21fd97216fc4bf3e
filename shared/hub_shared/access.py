"""Who may do what, without any framework: the roles, the scopes (endpoint groups) each role may hold,
and the unit paths a principal covers. Kept free of heavy imports so the command line can name roles and
scopes without loading the web stack."""

from enum import Enum

NATIONAL = "national"
SEGMENT = r"[a-z0-9]+(?:-[a-z0-9]+)*"  # one step of a unit path: `labour`, `performance-office`
UNIT_PATTERN = rf"^(?:{NATIONAL}|{SEGMENT}(?:/{SEGMENT})*)$"


class Role(str, Enum):
    expert = "expert"
    unit_responder = "unit_responder"
    office_manager = "office_manager"
    inspector = "inspector"
    provincial_supervisor = "provincial_supervisor"
    national_supervisor = "national_supervisor"
    agency_system = "agency_system"
    presidential_centre = "presidential_centre"
    gateway = "gateway"
    ops = "ops"  # the operations team: the hub's plumbing (dead letters, holds, parked outbox rows), never a case's content


STAFF = frozenset({Role.expert, Role.unit_responder, Role.office_manager, Role.inspector,
                   Role.provincial_supervisor, Role.national_supervisor})


class Scope(str, Enum):
    cases_read = "cases:read"  # a case's details, without the complainant's personal data
    cases_confidential = "cases:confidential"  # clearance for cases classed confidential
    cases_submit = "cases:submit"  # file a case on a citizen's behalf (phone 111, letters, agency systems)
    personal_data_read = "personal-data:read"  # the complainant's name, ID, phone, address; every read is audited
    timers_read = "timers:read"
    audit_read = "audit:read"
    status_read = "status:read"  # status by tracking code and the change feed (supervising bodies)
    org_write = "org:write"  # change the organisation tree (units, their places, contacts and calendars) in one's subtree
    ops_admin = "ops:admin"  # see and act on the plumbing: dead letters, consumer holds, parked outbox rows, lag; every action audited


_CASE_WORK = {Scope.cases_read, Scope.timers_read}
_SUPERVISION = {*_CASE_WORK, Scope.cases_confidential, Scope.status_read, Scope.audit_read}
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.expert: frozenset({*_CASE_WORK, Scope.cases_submit, Scope.personal_data_read}),
    Role.unit_responder: frozenset(_CASE_WORK),
    Role.office_manager: frozenset({*_CASE_WORK, Scope.cases_submit, Scope.personal_data_read, Scope.cases_confidential}),
    Role.inspector: frozenset({*_CASE_WORK, Scope.personal_data_read, Scope.cases_confidential, Scope.audit_read}),
    Role.provincial_supervisor: frozenset(_SUPERVISION),
    Role.national_supervisor: frozenset(_SUPERVISION),
    Role.agency_system: frozenset({Scope.cases_submit, Scope.status_read}),
    Role.presidential_centre: frozenset({Scope.status_read}),
    Role.gateway: frozenset({Scope.cases_submit, Scope.status_read}),
}
# Who keeps the organisation tree up to date, each within the subtree their token covers.
ROLE_SCOPES[Role.national_supervisor] |= {Scope.org_write}
ROLE_SCOPES[Role.provincial_supervisor] |= {Scope.org_write}
ROLE_SCOPES[Role.agency_system] |= {Scope.org_write}



class CaseAction(str, Enum):
    """The steps staff take on a case, each offered by one service's API."""

    respond = "respond"  # followup: the unit's response, with its documents
    request_information = "request_information"  # followup: ask the citizen for more
    information_received = "information_received"  # followup
    give_opinion = "give_opinion"  # followup: the expert's opinion and proposed outcome
    record_inspection = "record_inspection"  # followup: a field inspection's findings
    decide = "decide"  # followup: approve the final answer, or send the work back for rework
    move = "move"  # routing: transfer to another agency, forward down, return
    reject = "reject"  # routing: not to be processed, for one of the legal reasons
    classify = "classify"  # intake: confirm or correct the case's topic


# Who may take each step. The services check it; the staff pages offer only the forms a role may use.
CASE_ACTIONS: dict[CaseAction, frozenset[Role]] = {
    CaseAction.respond: frozenset({Role.unit_responder, Role.expert, Role.office_manager}),
    CaseAction.request_information: frozenset({Role.expert, Role.office_manager}),
    CaseAction.information_received: frozenset({Role.expert, Role.office_manager}),
    CaseAction.give_opinion: frozenset({Role.expert}),
    CaseAction.record_inspection: frozenset({Role.inspector, Role.expert}),
    CaseAction.decide: frozenset({Role.office_manager, Role.provincial_supervisor, Role.national_supervisor}),
    CaseAction.move: frozenset({Role.expert, Role.office_manager, Role.provincial_supervisor, Role.national_supervisor}),
    CaseAction.reject: frozenset({Role.expert, Role.office_manager}),
    CaseAction.classify: frozenset({Role.expert, Role.office_manager, Role.inspector}),
}

# The operations team traces cases (the timeline: events, times and trace ids; not a confidential one) and mends the
# plumbing; it reads no case's details (no cases:read) and no personal data.
ROLE_SCOPES[Role.ops] = frozenset({Scope.ops_admin, Scope.status_read})
