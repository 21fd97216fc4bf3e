"""The deployment's staff users and machine clients: who they are, their role, the subtree they cover
and the scopes they hold. Kept in a JSON file the operator owns; `hub token create --user NAME` mints a
token from an entry, so a person's role and unit are typed once, checked once. A person who signs in to the
portal's staff pages has an Argon2 hash of their password here too (`hub user add NAME --password`); the portal
reads this file (HUB_WEB_USERS_FILE) at each sign-in and each page, so a removed user's session ends at once."""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from hub_shared.access import NATIONAL, ROLE_SCOPES, Role, Scope
from hub_shared.reference import org_seed


def known_subtree(unit: str) -> bool:
    """`national`, a unit id, or a prefix of one on path boundaries (an agency, a province of it, ...)."""
    return unit == NATIONAL or any(u.id == unit or u.id.startswith(unit + "/") for u in org_seed().units)


class User(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(pattern=r"^[A-Za-z0-9._@-]{1,128}$", description="a staff user name or a client system's name")
    role: Role
    unit: str
    scopes: list[Scope] = Field(default_factory=list, description="empty: everything the role may do")
    password_hash: str | None = Field(None, description="Argon2id hash of the portal password (`hub_shared.passwords`); none: no sign-in")

    @field_validator("unit")
    @classmethod
    def _in_the_tree(cls, unit: str) -> str:
        if not known_subtree(unit):
            raise ValueError(f"unknown unit {unit!r}; use an id (or id prefix) from the organisation tree, or 'national'")
        return unit

    @model_validator(mode="after")
    def _scopes_within_role(self) -> "User":
        beyond = set(self.scopes) - ROLE_SCOPES[self.role]
        if beyond:
            raise ValueError(f"role {self.role.value} cannot hold {sorted(s.value for s in beyond)}")
        return self


_USERS = TypeAdapter(list[User])


class UserRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[User]:
        if not self.path.exists():
            return []
        return _USERS.validate_json(self.path.read_bytes())

    def get(self, subject: str) -> User | None:
        return next((user for user in self.all() if user.subject == subject), None)

    def add(self, user: User) -> None:
        users = self.all()
        if any(existing.subject == user.subject for existing in users):
            raise ValueError(f"user {user.subject!r} exists; remove it first to change it")
        self._write([*users, user])

    def remove(self, subject: str) -> bool:
        users = self.all()
        kept = [user for user in users if user.subject != subject]
        self._write(kept)
        return len(kept) < len(users)

    def _write(self, users: list[User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(_USERS.dump_python(users, mode="json", exclude_none=True), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o600)
        staging.replace(self.path)
