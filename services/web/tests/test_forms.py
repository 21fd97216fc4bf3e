"""From the filing form to intake's request, and intake's refusals back beside the fields."""

from hub_web.forms import FieldErrors, case_payload, check_filing, intake_refusal, media_type_of

KNOWN = {"national_id", "phone", "county", "agency", "subject", "anonymous"}
NAMED = {"kind": "complaint", "complainant_type": "", "organisation_name": "", "full_name": "زهرا احمدی",
         "national_id": "۰۰۸۴۵۷۵۹۴۸", "phone": "۰۹۱۲۱۲۳۴۵۶۷", "address": "تهران، خیابان آزادی", "email": "",
         "subject": "تاخیر در پرداخت", "description": "مستمری من سه ماه است پرداخت نشده است.",
         "agency": "labour", "province": "tehran", "county": "rey", "anonymous": ""}


def test_a_named_case_goes_to_intake_with_ascii_digits_and_its_target() -> None:
    errors = FieldErrors("fa")
    check_filing(NAMED, errors)
    assert not errors
    payload = case_payload(NAMED)
    assert (payload["national_id"], payload["phone"]) == ("0084575948", "09121234567")
    assert payload["target"] == {"agency": "labour", "province": "tehran", "county": "rey"}


def test_an_anonymous_report_carries_no_identity_even_if_typed_before_choosing_anonymity() -> None:
    values = {**NAMED, "kind": "misconduct_report", "anonymous": "on"}
    errors = FieldErrors("fa")
    check_filing(values, errors)
    assert not errors
    assert not set(case_payload(values)) & {"full_name", "national_id", "phone", "address", "email", "complainant_type"}


def test_only_a_misconduct_report_may_be_anonymous_and_a_wrong_check_digit_is_caught_here() -> None:
    errors = FieldErrors("fa")
    check_filing({**NAMED, "anonymous": "on"}, errors)
    assert list(errors.messages) == ["anonymous"]
    errors = FieldErrors("en")
    check_filing({**NAMED, "national_id": "0084575949", "address": ""}, errors)
    assert errors.messages == {"address": "Write your full address (at least 5 characters).",
                               "national_id": "The national ID must be 10 digits with a valid check digit."}


def test_intakes_rule_is_shown_in_its_own_persian_words_beside_the_field_it_names() -> None:
    errors = FieldErrors("fa")
    intake_refusal({"error": {"code": "unknown_county", "message_fa": "شهرستان در استان انتخاب‌شده یافت نشد.",
                              "message_en": "County 'kashan' is not in province 'tehran'.", "field": "target.county"}}, errors, KNOWN)
    assert errors.messages == {"county": "شهرستان در استان انتخاب‌شده یافت نشد."}


def test_a_malformed_field_gets_the_portals_advice_and_an_unknown_one_goes_to_the_form() -> None:
    errors = FieldErrors("fa")
    intake_refusal({"error": {"code": "invalid_request", "fields": [{"field": "subject", "problem": "String too short"},
                                                                     {"field": "about_employee", "problem": "bad"}]}}, errors, KNOWN)
    assert errors.messages["subject"].startswith("موضوع را در چند کلمه بنویسید")
    assert "form" in errors.messages and "String too short" not in str(errors.messages)


def test_a_files_type_is_read_from_its_content_not_its_name() -> None:
    assert media_type_of(b"%PDF-1.7 ...") == "application/pdf"
    assert media_type_of(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert media_type_of(b"MZ\x90\x00 an executable") is None


def test_a_group_or_legal_person_goes_to_intake_with_its_name_and_its_representatives_identity() -> None:
    values = {**NAMED, "complainant_type": "legal", "organisation_name": "شرکت تعاونی کارگران ساختمانی ری"}
    errors = FieldErrors("fa")
    check_filing(values, errors)
    assert not errors
    payload = case_payload(values)
    assert (payload["complainant_type"], payload["organisation_name"]) == ("legal", "شرکت تعاونی کارگران ساختمانی ری")
    assert (payload["full_name"], payload["national_id"]) == ("زهرا احمدی", "0084575948")  # the representative's


def test_a_group_needs_its_name_here_and_a_name_typed_before_choosing_myself_is_not_sent() -> None:
    errors = FieldErrors("en")
    check_filing({**NAMED, "complainant_type": "group"}, errors)
    assert errors.messages == {"organisation_name": "Name the group or legal person."}
    errors = FieldErrors("fa")
    check_filing({**NAMED, "complainant_type": "company"}, errors)
    assert list(errors.messages) == ["complainant_type"]
    payload = case_payload({**NAMED, "complainant_type": "natural", "organisation_name": "شرکت نمونه"})
    assert payload["complainant_type"] == "natural" and "organisation_name" not in payload
