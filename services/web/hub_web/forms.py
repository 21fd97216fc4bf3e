"""From the portal's forms to the services' requests, and their refusals back to the fields they concern.

The portal checks what it can on its own (the national ID's check digit, the identity fields a named case
needs, the attachments' size and type), then lets intake apply every registration rule and shows its answer
beside the field it names."""

from dataclasses import dataclass, field

from hub_shared.text import is_valid_national_id, normalize_digits

from hub_web.i18n import FIELD_HELP, KINDS, pick

IDENTITY = ("full_name", "national_id", "phone", "address")
COMPLAINANT_TYPES = ("natural", "group", "legal")  # myself; a group of people or a legal person, through its representative
TEXT_FIELDS = ("kind", "complainant_type", "organisation_name", *IDENTITY, "email", "subject", "description",
               "agency", "province", "county")
# intake's field names (its pydantic locations and its rejections' `field`) → the form's
INTAKE_FIELDS = {"target.agency": "agency", "target.province": "province", "target.county": "county",
                 "target": "agency", "complainant_type": "anonymous"}
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}


@dataclass
class FieldErrors:
    lang: str
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str | None = None) -> None:
        self.messages.setdefault(name, message or pick(FIELD_HELP.get(name, FIELD_HELP["attachments"]), self.lang))

    def __bool__(self) -> bool:
        return bool(self.messages)


def ascii_code(value: str) -> str:
    """A code as typed (Persian, Arabic-Indic or Latin digits, spaces or dashes) in ASCII digits."""
    return normalize_digits(value or "")


def filing_values(form) -> dict[str, str]:
    values = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
    values["anonymous"] = "on" if form.get("anonymous") else ""
    return values


def check_filing(values: dict[str, str], errors: FieldErrors) -> None:
    """What the portal checks before asking intake: the kind, anonymity, and a named complainant's identity."""
    if values["kind"] not in KINDS:
        errors.add("kind")
    if len(values["subject"]) < 3:
        errors.add("subject")
    if len(values["description"]) < 10:
        errors.add("description")
    if values["anonymous"]:
        if values["kind"] != "misconduct_report":
            errors.add("anonymous")
        return
    if (values["complainant_type"] or "natural") not in COMPLAINANT_TYPES:
        errors.add("complainant_type")
    elif values["complainant_type"] in ("group", "legal") and not values["organisation_name"]:
        errors.add("organisation_name")
    for name in IDENTITY:
        if not values[name]:
            errors.add(name)
    if values["national_id"] and not is_valid_national_id(ascii_code(values["national_id"])):
        errors.add("national_id")
    for name in ("agency", "province"):
        if not values[name]:
            errors.add(name)


def case_payload(values: dict[str, str]) -> dict:
    """The body of intake's POST /api/v1/cases: an anonymous report carries no identity at all."""
    payload = {"kind": values["kind"], "subject": values["subject"], "description": values["description"],
               "target": {"agency": values["agency"], "province": values["province"], "county": values["county"] or None}}
    if not values["anonymous"]:
        payload |= {name: values[name] for name in IDENTITY}
        payload["national_id"], payload["phone"] = ascii_code(values["national_id"]), ascii_code(values["phone"])
        payload["complainant_type"] = values["complainant_type"] or "natural"
        if values["email"]:
            payload["email"] = values["email"]
        if payload["complainant_type"] != "natural" and values["organisation_name"]:  # a name typed, then "myself" chosen, is not sent
            payload["organisation_name"] = values["organisation_name"]
    return payload


def intake_refusal(body: dict, errors: FieldErrors, known: set[str]) -> None:
    """Intake's 422 beside the fields: a registration rule names one field and says why in Persian; a malformed
    field gets the portal's own advice for it."""
    error = body.get("error", {})
    if error.get("field"):
        errors.add(_form_field(error["field"], known), pick((error.get("message_fa", ""), error.get("message_en", "")), errors.lang))
    for item in error.get("fields", ()):
        errors.add(_form_field(item.get("field", ""), known))
    if not errors:
        errors.add("form", pick((error.get("message_fa", "درخواست پذیرفته نشد."), error.get("message_en", "Refused.")), errors.lang))


def _form_field(name: str, known: set[str]) -> str:
    name = INTAKE_FIELDS.get(name, name)
    return name if name in known else "form"


def media_type_of(content: bytes) -> str | None:
    """The type a file's first bytes show, whatever its name or the browser claims."""
    return next((media for media, starts in SIGNATURES.items() if content.startswith(starts)), None)
