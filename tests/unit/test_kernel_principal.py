"""Rights of machine tokens (CONTRACTS §2) and of people by role (§7), and who they are in events."""

import pytest

from services.common.auth import PERSON_SCOPES, Principal
from services.common.http import Forbidden

HERE, THERE = "huaguangjie", "longshengjie"


def person(role, center_id=None):
    identity = {"account_id": f"id-{role}", "login": f"{role}.login", "name": "某人", "role": role}
    return Principal(PERSON_SCOPES[role], center_id, "hash", person=identity)


MACHINE_CENTER = Principal("center", HERE, "h")
MACHINE_DISTRICT = Principal("district", None, "h")
MACHINE_ADMIN = Principal("admin", None, "h")


@pytest.mark.parametrize(
    "principal, read_here, read_there, write_here, write_there, roster_here, answer_here, complaints_here,"
    " answer_there, complaints_there",
    [
        (MACHINE_CENTER, True, False, True, False, True, True, True, False, False),
        (MACHINE_DISTRICT, True, True, False, False, False, False, True, False, True),
        (MACHINE_ADMIN, True, True, True, True, True, True, True, True, True),
        (person("staff", HERE), True, False, True, False, False, False, False, False, False),
        (person("head", HERE), True, False, True, False, True, True, True, False, False),
        (person("district"), True, True, False, False, False, True, True, True, True),
        (person("admin"), False, False, False, False, False, False, False, False, False),
    ],
)
def test_rights(
    principal,
    read_here,
    read_there,
    write_here,
    write_there,
    roster_here,
    answer_here,
    complaints_here,
    answer_there,
    complaints_there,
):
    assert principal.can_read(HERE) is read_here
    assert principal.can_read(THERE) is read_there
    assert principal.can_write(HERE) is write_here
    assert principal.can_write(THERE) is write_there
    assert principal.can_manage_roster(HERE) is roster_here
    assert principal.can_answer_complaints(HERE) is answer_here
    assert principal.can_answer_complaints(THERE) is answer_there
    # Complaints are read by those who answer them (and the district's read-only token):
    # a center's staff file them but do not read them.
    assert principal.can_read_complaints(HERE) is complaints_here
    assert principal.can_read_complaints(THERE) is complaints_there


def test_refusals_are_403():
    with pytest.raises(Forbidden):
        person("staff", HERE).require_roster(HERE)
    with pytest.raises(Forbidden):
        person("district").require_write(HERE)


def test_the_actor_names_the_person_or_the_token():
    assert person("head", HERE).actor == {
        "account_id": "id-head",
        "login": "head.login",
        "name": "某人",
        "role": "head",
    }
    assert MACHINE_CENTER.actor == {"token": "center:huaguangjie"}
    assert MACHINE_DISTRICT.actor == {"token": "district"}
