"""The member app as use cases on the in-memory stores (no database): a real-name sign-up,
a guardian linking the children registered with her phone by the code sent to it, and a
spouse bound to the family with his consent, then withdrawn."""

from __future__ import annotations

import re
from datetime import date

import pytest

from fakes import FakeDatabase
from fast.stores import policies
from yibao.domain.access import Principal, Role
from yibao.domain.ids import make_resident_id
from yibao.service.access import OPERATOR
from yibao.service.enrolment import NewPerson
from yibao.service.errors import ConflictError, NotFoundError, ServiceError
from yibao.service.member import SignUp
from yibao.service.services import Services
from yibao.service.sms import LogSms

REGION = "sample-city"
MUM = make_resident_id("990100", date(1986, 5, 4), 22)
DAD = make_resident_id("990100", date(1984, 2, 3), 13)
CHILD = make_resident_id("990100", date(2015, 3, 1), 12)
MUM_PHONE = "13900001111"
PASSWORD = "a long pass phrase 1"


def world() -> tuple[FakeDatabase, Services, LogSms, dict[str, str]]:
    """A mother, a father and a child registered at the counter, the child with the
    mother's phone; the registry ids by name."""
    db, sms = FakeDatabase(), LogSms()
    services = Services.build(db.unit_of_work, policies(), lambda: date(2026, 10, 15), sms=sms)
    with db.unit_of_work() as uow:
        uow.registry.add_region(REGION, "样本市", "Sample City", "990100")
        uow.commit()
    register = services.enrolment.register_person
    ids = {
        "mum": register(OPERATOR, NewPerson(MUM, "王芳", REGION, phone=MUM_PHONE))["id"],
        "dad": register(OPERATOR, NewPerson(DAD, "李强", REGION, phone="13900002222"))["id"],
        "child": register(OPERATOR, NewPerson(CHILD, "李小明", REGION, phone=MUM_PHONE))["id"],
    }
    return db, services, sms, ids


def test_a_guardian_signs_up_and_links_her_children_with_the_code_sent_to_her_phone() -> None:
    db, services, sms, ids = world()
    member = services.member
    with pytest.raises(ServiceError) as wrong:
        member.sign_up(SignUp("王小芳", MUM, date(1986, 5, 4), MUM_PHONE, PASSWORD))
    assert wrong.value.code == "real_name_mismatch"
    view = member.sign_up(SignUp("王芳", MUM, date(1986, 5, 4), MUM_PHONE, PASSWORD))
    assert (view["id"], view["role"], view["person_id"]) == (MUM, "guardian", ids["mum"])
    with pytest.raises(ConflictError) as again:
        member.sign_up(SignUp("王芳", MUM, date(1986, 5, 4), MUM_PHONE, PASSWORD))
    assert again.value.code == "account_exists"

    mum = Principal(MUM, Role.GUARDIAN, person_id=ids["mum"])
    assert member.linkable_children(mum)["count"] == 1
    assert member.family(mum)[0]["id"] == ids["mum"]
    assert len(member.family(mum)) == 1
    assert member.send_guardian_code(mum)["phone"] != MUM_PHONE  # masked
    phone, text = sms.sent[-1]
    found = re.search(r"验证码 (\d+)", text)
    assert phone == MUM_PHONE
    assert found is not None
    code = found.group(1)
    wrong_code = f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"
    with pytest.raises(ServiceError) as refused:
        member.link_children(mum, wrong_code)
    assert refused.value.code == "invalid_code"
    linked = member.link_children(mum, code)
    assert [p["id"] for p in linked] == [ids["child"]]
    assert [p["id"] for p in member.family(mum)] == [ids["mum"], ids["child"]]
    assert member.linkable_children(mum)["count"] == 0
    with db.unit_of_work() as uow:
        assert uow.registry.guardians_of(ids["child"]) == [ids["mum"]]
        (entry,) = uow.audit.entries(object_type="person", object_id=ids["child"], actor=MUM)
        assert entry["action"] == "guardian.link"


def test_a_spouse_is_bound_with_his_consent_and_withdraws_it() -> None:
    db, services, _, ids = world()
    member = services.member
    member.sign_up(SignUp("王芳", MUM, date(1986, 5, 4), MUM_PHONE, PASSWORD))
    dad_view = member.sign_up(SignUp("李强", DAD, date(1984, 2, 3), "13900002222", PASSWORD))
    assert dad_view["role"] == "insured"  # no minor is registered with his phone
    mum = Principal(MUM, Role.GUARDIAN, person_id=ids["mum"])
    dad = Principal(DAD, Role.INSURED, person_id=ids["dad"])

    with pytest.raises(ServiceError) as mismatch:
        member.links.request(mum, DAD, "李刚", "spouse")
    assert mismatch.value.code == "real_name_mismatch"
    link = member.links.request(mum, DAD, "李强", "spouse")["id"]
    with pytest.raises(ConflictError):
        member.links.request(mum, DAD, "李强", "spouse")
    assert ids["dad"] not in [p["id"] for p in member.family(mum)]
    with pytest.raises(NotFoundError):  # only the adult asked answers
        member.links.respond(mum, link, True)

    assert member.links.respond(dad, link, True)["status"] == "accepted"
    assert [p["id"] for p in member.family(mum)] == [ids["mum"], ids["dad"]]
    asking = member.links.links(dad)["asking"]
    assert [(a["id"], a["name"], a["status"]) for a in asking] == [(link, "王芳", "accepted")]
    assert member.links.respond(dad, link, False)["status"] == "withdrawn"
    assert [p["id"] for p in member.family(mum)] == [ids["mum"]]
    with db.unit_of_work() as uow:
        actions = [e["action"] for e in uow.audit.entries(object_type="family_link")]
    assert actions == ["family.withdraw", "family.accept", "family.request"]
