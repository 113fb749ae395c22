"""What administrators change: departments, rules and staff, each refusal naming the field."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from feedback.models import Department
from feedback.services import administration
from tests import factories


def _department(db_session, code):
    return db_session.execute(select(Department).where(Department.code == code)).scalar_one()


def _fields(department, **changes):
    fields = {"name": department.name, "kind": str(department.kind), "active": "1",
              "parent_id": department.parent_id or "", "area_code": department.area_code or ""}
    fields.update(changes)
    return fields


def test_a_department_cannot_become_its_own_ancestor(db_session):
    water = _department(db_session, "ct-so-nnmt")
    civil_defence = _department(db_session, "ct-bch-pctt")
    assert civil_defence.parent_id == water.id
    with pytest.raises(administration.Refused) as refused:
        administration.save_department(db_session, water,
                                       _fields(water, parent_id=civil_defence.id))
    assert refused.value.field == "parent_id" and refused.value.reason == "parent_cycle"
    with pytest.raises(administration.Refused):
        administration.save_department(db_session, water, _fields(water, parent_id=water.id))
    # Longer cycles too: A → B → C → A.
    ioc = _department(db_session, "ct-ioc")
    administration.save_department(db_session, ioc, _fields(ioc, parent_id=civil_defence.id))
    with pytest.raises(administration.Refused):
        administration.save_department(db_session, water, _fields(water, parent_id=ioc.id))


@pytest.mark.parametrize("value", ["abc", "1.5", "-", str(2**63), "١٢"])
def test_an_id_that_is_not_one_is_refused_naming_its_field(db_session, value):
    water = _department(db_session, "ct-so-nnmt")
    with pytest.raises(administration.Refused) as refused:
        administration.save_department(db_session, water, _fields(water, parent_id=value))
    assert refused.value.field == "parent_id"
    with pytest.raises(administration.Refused) as refused:
        administration.add_staff(db_session, {"username": "lan", "role": "officer",
                                              "department_id": value,
                                              "password": "mat-khau-dai-2026"})
    assert refused.value.field == "department_id"
    with pytest.raises(administration.Refused) as refused:
        administration.add_rule(db_session, {"category_id": value, "department_id": water.id},
                                now=datetime.now(timezone.utc))
    assert refused.value.field == "category_id"


def test_an_inactive_department_is_kept_where_it_is_but_not_newly_chosen(db_session):
    water = _department(db_session, "ct-so-nnmt")
    civil_defence = _department(db_session, "ct-bch-pctt")
    water.active = False
    officer = factories.staff(db_session, "officer")
    officer.department = water
    db_session.flush()
    # Kept: the parent of a department, the department of an officer.
    administration.save_department(db_session, civil_defence,
                                   _fields(civil_defence, parent_id=water.id))
    assert civil_defence.parent_id == water.id
    administration.update_staff(db_session, officer, {"role": "officer", "active": "1",
                                                      "department_id": water.id},
                                actor=factories.staff(db_session, "admin"))
    assert officer.department_id == water.id
    # Newly chosen: refused.
    with pytest.raises(administration.Refused) as refused:
        administration.add_staff(db_session, {"username": "lan", "role": "officer",
                                              "department_id": water.id,
                                              "password": "mat-khau-dai-2026"})
    assert refused.value.reason == "department_inactive"
