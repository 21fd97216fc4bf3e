"""The password change page, the registry's safe writes and Argon2 rehashing: the current password is asked again,
the new one twice and against the strength rule; the change ends every other session of the user at once."""

import re
import threading
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from hub_shared.auth import Role
from hub_shared.passwords import hash_password, password_matches
from hub_shared.settings import HubSettings
from hub_shared.tokens import AuthSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.settings import WebSettings
from hub_web.staff_auth import SessionCookie, StaffDesk

PASSWORD = "a long enough secret"
NEW = "three quiet rivers at dawn"


@pytest.fixture
def registry(tmp_path: Path) -> UserRegistry:
    users = UserRegistry(tmp_path / "users.json")
    users.add(User(subject="maryam", role=Role.expert, unit="labour/tehran", password_hash=hash_password(PASSWORD)))
    return users


def token_of(page: httpx.Response) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', page.text)[1]


async def signed_in(client: httpx.AsyncClient, password: str = PASSWORD) -> str:
    token = token_of(await client.get("/staff/sign-in"))
    answer = await client.post("/staff/sign-in", data={"form_token": token, "username": "maryam", "password": password})
    assert answer.status_code == 303, answer.text
    return token


def portal(registry: UserRegistry) -> httpx.AsyncClient:
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=registry.path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def test_changing_the_password_keeps_this_browser_signed_in_and_signs_out_every_other(registry) -> None:
    async with portal(registry) as here, portal(registry) as elsewhere:
        token = await signed_in(here)
        await signed_in(elsewhere)
        form = await here.get("/staff/account/password")
        assert form.status_code == 200 and 'autocomplete="new-password"' in form.text
        changed = await here.post("/staff/account/password", data={"form_token": token, "current_password": PASSWORD,
                                                                   "new_password": NEW, "again": NEW})
        assert changed.status_code == 200 and "گذرواژه شما تغییر کرد" in changed.text
        assert PASSWORD not in changed.text and NEW not in changed.text
        assert (await here.get("/staff/account/password")).status_code == 200, "this browser's new session"
        assert (await elsewhere.get("/staff/account/password")).headers["location"] == "/staff/sign-in", "the other session ended"
    stored = registry.get("maryam").password_hash
    assert stored.startswith("$argon2id$") and password_matches(stored, NEW) and not password_matches(stored, PASSWORD)
    async with portal(registry) as later:
        await signed_in(later, NEW)


@pytest.mark.parametrize("fields,field,message", [
    ({"current_password": "not my password"}, "current_password", "گذرواژه کنونی درست نیست."),
    ({"current_password": ""}, "current_password", "گذرواژه کنونی را وارد کنید."),
    ({"new_password": "short one", "again": "short one"}, "new_password", "گذرواژه تازه باید ۱۰ تا ۲۵۶ نویسه باشد."),
    ({"new_password": "abababababab", "again": "abababababab"}, "new_password", "بیش از اندازه ساده است"),
    ({"new_password": "I am maryam, hello", "again": "I am maryam, hello"}, "new_password", "نام کاربری شما"),
    ({"new_password": PASSWORD, "again": PASSWORD}, "new_password", "باید با گذرواژه کنونی فرق داشته باشد"),
    ({"again": NEW + "!"}, "again", "تکرار گذرواژه تازه با خود آن یکی نیست"),
])
async def test_a_refused_change_says_why_beside_the_field_and_keeps_the_password(registry, fields, field, message) -> None:
    before = registry.get("maryam").password_hash
    async with portal(registry) as client:
        token = await signed_in(client)
        data = {"form_token": token, "current_password": PASSWORD, "new_password": NEW, "again": NEW, **fields}
        refused = await client.post("/staff/account/password", data=data)
        assert refused.status_code in (401, 422)
        assert message in refused.text and f'href="#f-{field}"' in refused.text and f'id="e-{field}"' in refused.text
        assert (await client.get("/staff/account/password")).status_code == 200, "still signed in"
    assert registry.get("maryam").password_hash == before


async def test_the_change_needs_a_session_and_a_genuine_form(registry) -> None:
    async with portal(registry) as client:
        stranger = await client.post("/staff/account/password", data={"form_token": token_of(await client.get("/staff/sign-in")),
                                                                      "current_password": PASSWORD, "new_password": NEW, "again": NEW})
        assert stranger.headers["location"] == "/staff/sign-in"
        await signed_in(client)
        forged = await client.post("/staff/account/password", data={"current_password": PASSWORD, "new_password": NEW, "again": NEW})
        assert forged.status_code == 403
    assert password_matches(registry.get("maryam").password_hash, PASSWORD)


def test_a_password_changed_meanwhile_is_not_overwritten(registry) -> None:
    staff = StaffDesk(registry.path, SessionCookie("k" * 32, 30, 10), AuthSettings())
    read_before = registry.get("maryam")  # the page read the user, then the password changed at the console
    assert registry.replace_password("maryam", read_before.password_hash, hash_password("changed at the console"))
    assert staff.change_password(read_before, PASSWORD, NEW) == "changed"
    assert staff.change_password(registry.get("maryam"), PASSWORD, NEW) == "wrong"
    assert password_matches(registry.get("maryam").password_hash, "changed at the console")


def test_a_hash_made_with_older_parameters_is_renewed_at_sign_in(registry) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    registry.replace_password("maryam", registry.get("maryam").password_hash, weak)
    session = StaffDesk(registry.path, SessionCookie("k" * 32, 30, 10), AuthSettings()).sign_in("maryam", PASSWORD)
    stored = registry.get("maryam").password_hash
    assert session.subject == "maryam" and stored != weak and "m=65536" in stored and password_matches(stored, PASSWORD)


def test_concurrent_writers_lose_no_change_and_readers_never_see_half_a_file(registry) -> None:
    names = [f"clerk-{i}" for i in range(24)]
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(len(registry.all()))  # raises if a write were half done

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=registry.add, args=(User(subject=name, role=Role.expert, unit="labour"),)) for name in names]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    reader.join()
    assert sorted(user.subject for user in registry.all()) == sorted(["maryam", *names])
    assert seen and min(seen) >= 1
    assert registry.path.stat().st_mode & 0o077 == 0, "readable by its owner only"
    assert [path.name for path in registry.path.parent.iterdir() if path.name.startswith(".users")] == []
