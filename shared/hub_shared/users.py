"""The deployment's staff users and machine clients: who they are, their role, the subtree they cover
and the scopes they hold. Kept in a JSON file the operator owns; `hub token create --user NAME` mints a
token from an entry, so a person's role and unit are typed once, checked once. A person who signs in to the
portal's staff pages has an Argon2 hash of their password here too (`hub user add NAME --password`); the portal
reads this file (HUB_WEB_USERS_FILE) at each sign-in and each page, so a removed user's session ends at once.

Writers (`hub user`, the portal's password change, any number of portal processes) take an exclusive lock on a
file beside the registry for the whole read-change-write, and write a new file that replaces the old one at once:
a reader sees the old registry or the new one, never half of one, and no writer loses another's change."""

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
        def added(users: list[User]) -> list[User]:
            if any(existing.subject == user.subject for existing in users):
                raise ValueError(f"user {user.subject!r} exists; remove it first to change it")
            return [*users, user]

        self._change(added)

    def remove(self, subject: str) -> bool:
        removed = False

        def kept(users: list[User]) -> list[User]:
            nonlocal removed
            remaining = [user for user in users if user.subject != subject]
            removed = len(remaining) < len(users)
            return remaining

        self._change(kept)
        return removed

    def replace_password(self, subject: str, expected_hash: str, new_hash: str) -> bool:
        """Set `subject`'s password hash to `new_hash` if it is still `expected_hash` (no one changed it since it
        was checked); False, and nothing written, otherwise."""
        replaced = False

        def changed(users: list[User]) -> list[User]:
            nonlocal replaced
            replaced = any(user.subject == subject and user.password_hash == expected_hash for user in users)
            return [user.model_copy(update={"password_hash": new_hash}) if replaced and user.subject == subject else user
                    for user in users]

        self._change(changed)
        return replaced

    def _change(self, change: Callable[[list[User]], list[User]]) -> None:
        with self._locked():
            users = self.all()
            changed = change(users)
            if changed != users:
                self._write(changed)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, users: list[User]) -> None:
        text = json.dumps(_USERS.dump_python(users, mode="json", exclude_none=True), ensure_ascii=False, indent=2) + "\n"
        handle, staging = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:  # mkstemp: readable by the owner only
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(staging, self.path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
