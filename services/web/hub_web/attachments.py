"""The citizen's files: checked here against intake's limits before anything is sent (size, and type by
content), then sent to intake one by one under the case, proved as when following it."""

import base64
import logging

from fastapi import Request
from starlette.datastructures import UploadFile

from hub_web.forms import FieldErrors, media_type_of
from hub_web.persian import digits_for
from hub_web.portal import Portal

log = logging.getLogger(__name__)


async def chosen_files(form, policy: dict, errors: FieldErrors) -> list[tuple[str, str, bytes]]:
    """(name, type by content, content) of each file chosen in the form's `attachments`, refusing what intake would."""
    chosen = [item for item in form.getlist("attachments") if isinstance(item, UploadFile) and item.filename]
    if len(chosen) > policy["max_per_case"]:
        errors.add("attachments", _too_many(policy, errors.lang))
    files = []
    for item in chosen:
        content = await item.read(policy["max_bytes"] + 1)
        media_type = media_type_of(content)
        if len(content) > policy["max_bytes"] or media_type not in policy["media_types"]:
            errors.add("attachments", _bad_file(item.filename, policy, errors.lang))
            continue
        files.append((item.filename, media_type, content))
    return files


async def upload(portal: Portal, request: Request, proof: dict, files: list[tuple[str, str, bytes]]) -> list[str]:
    """Each file to intake under the case `proof` proves; the names intake refused."""
    refused = []
    for name, media_type, content in files:
        answer = await portal.intake(request, "/api/v1/cases/track/attachments", {
            **proof, "filename": name, "media_type": media_type, "content_base64": base64.b64encode(content).decode()})
        if answer.status != 201:
            log.warning("an attachment was refused: %s", answer.body.get("error", {}).get("code"))
            refused.append(name)
    return refused


def _too_many(policy: dict, lang: str) -> str:
    count = digits_for(lang, policy["max_per_case"])
    return f"حداکثر {count} پیوست می‌توانید بفرستید." if lang == "fa" else f"You may attach at most {count} files."


def _bad_file(name: str, policy: dict, lang: str) -> str:
    megabytes = digits_for(lang, policy["max_bytes"] // 1_000_000)
    if lang == "fa":
        return f"فایل «{name}» پذیرفته نشد: فقط PDF، JPEG، PNG یا TIFF تا {megabytes} مگابایت."
    return f"The file “{name}” was refused: only PDF, JPEG, PNG or TIFF up to {megabytes} MB."
