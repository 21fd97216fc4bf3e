"""Declarative routing rules: YAML files per agency (and per province), validated, versioned and
reloaded while routing runs. A bad file is refused with its reason and the rules in force stay.

A file:

    version: "2026-11-24.1"        # the author's version label, shown in every decision
    agency: labour                 # omit for national rules, which hold for every agency and are tried first
    province: isfahan              # omit for agency-wide rules; province rules are tried before the agency's
    deadlines: {request: 15}       # working days per case kind (default HUB_ROUTING_ANSWER_WORKING_DAYS)
    rules:
      - id: employee-private-life
        when: {topic: [employees-private-life]}      # every condition must hold; a list means any of
        then: {route_to: security-office}            # the nearest unit with this id suffix
        explain: complaints about employees' private life go to the security office

`then` is one of `route_to` (a unit id suffix, found nearest to the place: county, then province, then
HQ; with `agency` to send to another agency's unit), `reject` or `return` (a reason code). When no rule
matches, the case goes to the nearest performance office.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub_shared.events import CaseKind, Channel, RoutingDecision, Target
from hub_routing.tree import place_path, places_nearest_first
from hub_shared.reasons import REJECT_REASONS, RETURN_REASONS
from hub_shared.reference import org_seed

log = logging.getLogger(__name__)
SHIPPED_RULES = Path(__file__).with_name("rules")
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"

class RuleError(ValueError):
    """A rule file that does not validate; the message names the file and the entry."""


@dataclass(frozen=True)
class CaseFacts:
    """What rules may look at: never the citizen's words, only labels intake derived from them."""

    target: Target
    kind: CaseKind
    channel: Channel
    confidential: bool = False
    about_employee: bool = False
    topic: str | None = None
    keywords: frozenset[str] = frozenset()


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: list[CaseKind] | None = None
    topic: list[str] | None = None
    channel: list[Channel] | None = None
    keywords: list[str] | None = Field(None, description="any of these routing keywords")
    county: list[str] | None = None
    confidential: bool | None = None
    about_employee: bool | None = None

    def matches(self, facts: CaseFacts) -> list[str] | None:
        """The conditions that held, or None when one did not."""
        held = []
        for name, wanted, actual in (("kind", self.kind, facts.kind), ("channel", self.channel, facts.channel),
                                     ("topic", self.topic, facts.topic), ("county", self.county, facts.target.county)):
            if wanted is not None:
                if actual not in wanted:
                    return None
                held.append(f"{name}={getattr(actual, 'value', actual)}")
        if self.keywords is not None:
            found = sorted(facts.keywords & set(self.keywords))
            if not found:
                return None
            held.append(f"keywords={','.join(found)}")
        for name in ("confidential", "about_employee"):
            wanted = getattr(self, name)
            if wanted is not None:
                if getattr(facts, name) is not wanted:
                    return None
                held.append(f"{name}={str(wanted).lower()}")
        return held


class Then(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    route_to: str | None = Field(None, pattern=SLUG, description="unit id suffix, e.g. security-office")
    agency: str | None = Field(None, description="with route_to: another agency's unit (affiliated organisations)")
    reject: str | None = None
    return_: str | None = Field(None, alias="return")

    @model_validator(mode="after")
    def _one_outcome(self) -> Self:
        if sum(value is not None for value in (self.route_to, self.reject, self.return_)) != 1:
            raise ValueError("give exactly one of route_to, reject, return")
        if self.agency is not None and self.route_to is None:
            raise ValueError("agency goes with route_to")
        if self.reject is not None and self.reject not in REJECT_REASONS:
            raise ValueError(f"unknown reject reason {self.reject!r}; known: {sorted(REJECT_REASONS)}")
        if self.return_ is not None and self.return_ not in RETURN_REASONS:
            raise ValueError(f"unknown return reason {self.return_!r}; known: {sorted(RETURN_REASONS)}")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=SLUG)
    when: When = When()
    then: Then
    explain: str = Field(min_length=3, max_length=500)


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=40)
    agency: str | None = None
    province: str | None = None
    deadlines: dict[CaseKind, int] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.province is not None and self.agency is None:
            raise ValueError("province rules belong to an agency: set agency")
        if any(not 1 <= days <= 365 for days in self.deadlines.values()):
            raise ValueError("deadlines are 1 to 365 working days")
        ids = [rule.id for rule in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError(f"rule ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


@dataclass(frozen=True)
class Outcome:
    action: Literal["route", "reject", "return"]
    decision: RoutingDecision
    unit_id: str | None = None
    reason_code: str | None = None


@dataclass
class Ruleset:
    files: dict[str, RuleFile]  # file name -> content
    version: str
    default_days: int

    def scopes(self, target: Target) -> list[tuple[str, RuleFile]]:
        """The files that apply, in order: national rules (the law, for every agency), then this province of the
        agency, then the agency."""
        order = {(None, None): 0, (target.agency, target.province): 1, (target.agency, None): 2}
        applicable = [(name, f) for name, f in self.files.items() if (f.agency, f.province) in order]
        return sorted(applicable, key=lambda item: order[(item[1].agency, item[1].province)])

    def working_days(self, target: Target, kind: CaseKind) -> int:
        """The most specific deadline for the kind: the province's, the agency's, the national file's, the default."""
        specific = sorted(self.scopes(target), key=lambda item: (item[1].province is None, item[1].agency is None))
        for _, rule_file in specific:
            if kind in rule_file.deadlines:
                return rule_file.deadlines[kind]
        return self.default_days


UnitLookup = Callable[[str], object | None]


def nearest(unit_exists: UnitLookup, agency: str, target: Target, suffix: str) -> str | None:
    """The unit `suffix` nearest to where the matter happened: county, province, then the agency's HQ."""
    candidates = (f"{place_path(place)}/{suffix}" for place in places_nearest_first(agency, target))
    return next((unit_id for unit_id in candidates if unit_exists(unit_id) is not None), None)


def decide(rules: Ruleset, facts: CaseFacts, unit_exists: UnitLookup) -> Outcome:
    skipped = []
    for name, rule_file in rules.scopes(facts.target):
        for rule in rule_file.rules:
            held = rule.when.matches(facts)
            if held is None:
                continue
            label = f"{name}#{rule.id}"
            then = rule.then
            explanation = f"{rule.explain} ({label}, version {rule_file.version})"
            decision = RoutingDecision(rule=label, explanation=explanation, matched=held, rules_version=rules.version)
            if then.reject is not None:
                return Outcome("reject", decision, reason_code=then.reject)
            if then.return_ is not None:
                return Outcome("return", decision, reason_code=then.return_)
            unit_id = nearest(unit_exists, then.agency or facts.target.agency, facts.target, then.route_to)
            if unit_id is not None:
                return Outcome("route", decision, unit_id=unit_id)
            skipped.append(f"{label}: no {then.route_to} near {facts.target.province}")
    unit_id = nearest(unit_exists, facts.target.agency, facts.target, "performance-office")
    note = f"; skipped {'; '.join(skipped)}" if skipped else ""
    if unit_id is None:
        return Outcome("reject", RoutingDecision(rule="nearest-level", explanation=f"no performance office of {facts.target.agency}{note}",
                                                 rules_version=rules.version), reason_code="unclear_target")
    level = {1: "agency-hq", 2: "province", 3: "county"}[unit_id.count("/")]
    return Outcome("route", RoutingDecision(rule=f"nearest-level:{level}", explanation=f"no rule matched; nearest performance office {unit_id}{note}",
                                            rules_version=rules.version), unit_id=unit_id)


def load(directory: Path, default_days: int, unit_exists: UnitLookup, known_topics: frozenset[str] | None = None,
         known_keywords: frozenset[str] | None = None) -> Ruleset:
    """Every *.yaml in `directory`, validated as a whole. Raises RuleError naming the file and the problem."""
    files: dict[str, RuleFile] = {}
    digest = hashlib.sha256()
    seen: dict[tuple[str | None, str | None], str] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        try:
            rule_file = RuleFile.model_validate(yaml.safe_load(raw) or {})
        except (yaml.YAMLError, ValueError) as invalid:  # ValidationError, and YAML's own value errors (a 13th month)
            raise RuleError(f"{path.name}: {_readable(invalid)}") from None
        _check_references(path.name, rule_file, unit_exists, known_topics, known_keywords)
        scope = (rule_file.agency, rule_file.province)
        if scope in seen:
            raise RuleError(f"{path.name}: {seen[scope]} already holds the rules of {scope[0] or 'every agency'}/{scope[1] or '*'}")
        seen[scope] = path.name
        files[path.name] = rule_file
    return Ruleset(files=files, version=digest.hexdigest()[:12], default_days=default_days)


def _check_references(name: str, rule_file: RuleFile, unit_exists: UnitLookup, known_topics: frozenset[str] | None,
                      known_keywords: frozenset[str] | None) -> None:
    seed = org_seed()
    if rule_file.agency is not None and rule_file.agency not in seed.agencies:
        raise RuleError(f"{name}: unknown agency {rule_file.agency!r}")
    if rule_file.province is not None and rule_file.province not in seed.provinces:
        raise RuleError(f"{name}: unknown province {rule_file.province!r}")
    for rule in rule_file.rules:
        where = f"{name}: rule {rule.id}"
        for county in rule.when.county or []:
            if county not in seed.counties:
                raise RuleError(f"{where}: unknown county {county!r}")
        if known_topics is not None:
            for topic in rule.when.topic or []:
                if topic not in known_topics:
                    raise RuleError(f"{where}: unknown topic {topic!r}")
        if known_keywords is not None:
            for keyword in rule.when.keywords or []:
                if keyword not in known_keywords:
                    raise RuleError(f"{where}: {keyword!r} is not in the routing keyword vocabulary")
        then = rule.then
        if then.route_to is not None:
            agency = then.agency or rule_file.agency
            if then.agency is not None and then.agency not in seed.agencies:
                raise RuleError(f"{where}: unknown agency {then.agency!r}")
            agencies = [agency] if agency else list(seed.agencies)
            if not any(unit_exists(f"{a}/{then.route_to}") or _anywhere_under(unit_exists, a, then.route_to) for a in agencies):
                raise RuleError(f"{where}: no unit {then.route_to!r} in {agency or 'any agency'}")


def _anywhere_under(unit_exists: UnitLookup, agency: str, suffix: str) -> bool:
    seed = org_seed()
    return any(unit_exists(f"{agency}/{province}/{suffix}") for province in seed.provinces) or any(
        unit_exists(f"{agency}/{province}/{county}/{suffix}") for county, (province, _) in seed.counties.items())


def _readable(invalid: Exception) -> str:
    if isinstance(invalid, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'file'}: {error['msg']}" for error in invalid.errors(include_input=False))
    return str(invalid).replace("\n", " ")


@dataclass
class RuleBook:
    """The rules in force, reloaded when the files change; a file that does not validate is refused and the
    previous rules stay (`last_error` says why)."""

    directory: Path
    default_days: int
    unit_exists: UnitLookup
    known_topics: frozenset[str] | None = None
    known_keywords: frozenset[str] | None = None
    current: Ruleset = field(init=False)
    last_error: str | None = field(init=False, default=None)
    _stamp: tuple = field(init=False, default=())

    def __post_init__(self) -> None:
        self._stamp = self._files_stamp()
        self.current = self._load()  # at start a bad file stops the service: there is no previous version

    def _load(self) -> Ruleset:
        return load(self.directory, self.default_days, self.unit_exists, self.known_topics, self.known_keywords)

    def _files_stamp(self) -> tuple:
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(self.directory.glob("*.yaml")))

    def reload_if_changed(self) -> bool:
        stamp = self._files_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            rules = self._load()
        except RuleError as refused:
            self.last_error = str(refused)
            log.error("routing rules refused, version %s stays in force: %s", self.current.version, refused)
            return False
        self.current, self.last_error = rules, None
        log.info("routing rules version %s in force (%d files)", rules.version, len(rules.files))
        return True

    def decide(self, facts: CaseFacts) -> Outcome:
        return decide(self.current, facts, self.unit_exists)

    def working_days(self, target: Target, kind: CaseKind) -> int:
        return self.current.working_days(target, kind)
