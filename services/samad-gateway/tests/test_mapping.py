"""A remote's codes become a hub submission through the mapping tables; unknown codes are named."""

import pytest

from hub_gateway.contract import Complainant, RemoteCase
from hub_gateway.mapping import SHIPPED, Unmappable, load, parse_ref, to_submission


def remote_case(**changes) -> RemoteCase:
    return RemoteCase(**{"external_id": "SAMAD-1", "kind": "SHEKAYAT", "unit_code": "LABOUR-FARS-SHIRAZ", "title": "t",
                         "description": "d", "complainant": Complainant(full_name="n", national_id="1", phone="p", address="a"),
                         **changes})


def test_a_samad_case_becomes_a_submit_case_with_the_remote_and_external_id_as_reference() -> None:
    command = to_submission("samad", load(SHIPPED)["samad"], remote_case())
    assert (command.source.system, command.source.ref, command.channel.value) == ("samad-gateway", "samad:SAMAD-1", "samad")
    assert command.kind.value == "complaint" and (command.target.agency, command.target.county) == ("labour", "shiraz")
    assert parse_ref(command.source.ref) == ("samad", "SAMAD-1")


def test_the_inspection_organization_has_its_own_codes_and_channel() -> None:
    command = to_submission("inspection_org", load(SHIPPED)["inspection_org"], remote_case(kind="misconduct", unit_code="1031"))
    assert (command.channel.value, command.kind.value, command.target.province) == ("inspection_org", "misconduct_report", "isfahan")
    assert load(SHIPPED)["inspection_org"].remote_status("archived") == "closed"


@pytest.mark.parametrize("change,table", [({"kind": "UNKNOWN"}, "kinds"), ({"unit_code": "NOWHERE"}, "units")])
def test_unknown_codes_name_the_table_to_extend(change, table) -> None:
    with pytest.raises(Unmappable, match=table):
        to_submission("samad", load(SHIPPED)["samad"], remote_case(**change))


def test_references_of_other_systems_are_not_parsed() -> None:
    assert parse_ref("SAMAD-123") is None and parse_ref(None) is None
