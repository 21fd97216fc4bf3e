"""What an attachment may be, for the public: so a form can state the limits before anything is uploaded."""

from fastapi import APIRouter
from pydantic import BaseModel

from hub_intake.attachments import MAX_PER_CASE, SIGNATURES
from hub_intake.settings import IntakeSettings


class AttachmentPolicy(BaseModel):
    max_bytes: int
    max_per_case: int
    media_types: list[str]


def router(settings: IntakeSettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["attachments"])

    @api.get("/attachments/policy", response_model=AttachmentPolicy)
    async def attachment_policy() -> AttachmentPolicy:
        """The largest file (decoded), how many files a case holds, and the accepted types."""
        return AttachmentPolicy(max_bytes=settings.max_attachment_bytes, max_per_case=MAX_PER_CASE, media_types=list(SIGNATURES))

    return api
