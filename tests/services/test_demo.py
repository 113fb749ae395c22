import pytest
from sqlalchemy import func, select

from feedback.models import Category, Department, Role, RoutingRule, Urgency, User
from feedback.services.calendar import parse_limit
from feedback.services.demo import CATEGORIES, load_demo


def _count(db_session, model):
    return db_session.execute(select(func.count()).select_from(model)).scalar()


@pytest.mark.embedded
def test_the_demo_province_has_every_category_of_the_design_with_deadlines(db_session):
    categories = db_session.execute(select(Category)).scalars().all()
    assert len(categories) == 17
    names = {category.name_vi for category in categories}
    assert {"Giao thông", "Cây xanh", "Thiên tai", "Khác",
            "Thủ tục hành chính và thái độ cán bộ"} <= names
    for category in categories:
        for limit in (category.moderate_limit, category.acknowledge_limit, category.resolve_limit):
            parse_limit(limit)
    disaster = next(c for c in categories if c.code == "thien-tai")
    assert (disaster.urgency, disaster.resolve_limit, disaster.extension_limit) == (
        Urgency.URGENT, "4h", None)
    paperwork = next(c for c in categories if c.code == "thu-tuc-hanh-chinh")
    assert paperwork.photo_required is False


def test_every_commune_of_can_tho_has_its_peoples_committee(db_session):
    committees = db_session.execute(
        select(Department).where(Department.code.like("ct-ubnd-%"))).scalars().all()
    assert len(committees) == 103
    assert any(d.name == "UBND Phường Vị Thanh" for d in committees)


def test_a_commune_rule_and_a_province_rule_exist_for_urban_order_and_water(db_session):
    rules = db_session.execute(
        select(RoutingRule).join(Category).where(Category.code == "cap-thoat-nuoc-ngap")
    ).scalars().all()
    by_area = {rule.area_code: rule.department.code for rule in rules}
    assert by_area["92"] == "ct-cap-thoat-nuoc"
    assert by_area["31321"] == "ct-cap-thoat-nuoc-hg"  # Vị Thanh, once Hậu Giang
    assert by_area["31507"] == "ct-cap-nuoc-st"  # Sóc Trăng


def test_other_has_no_rule_so_it_waits_for_a_moderator(db_session):
    rules = db_session.execute(
        select(RoutingRule).join(Category).where(Category.code == "khac")).scalars().all()
    assert rules == []


def test_there_is_one_demo_user_per_role(db_session):
    roles = db_session.execute(select(User.role)).scalars().all()
    assert set(roles) == set(Role)


@pytest.mark.embedded
def test_loading_the_demo_twice_changes_nothing(db_session):
    before = [_count(db_session, model) for model in (Category, Department, RoutingRule, User)]
    hashes = dict(db_session.execute(select(User.username, User.password_hash)).all())
    load_demo(db_session)
    db_session.flush()
    after = [_count(db_session, model) for model in (Category, Department, RoutingRule, User)]
    assert before == after
    assert hashes == dict(db_session.execute(select(User.username, User.password_hash)).all())
    assert len(CATEGORIES) == before[0]
