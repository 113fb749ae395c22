"""Administrators in the web view: departments, categories, rules, accounts, calendar."""
from datetime import date

from sqlalchemy import select

from feedback.models import CalendarOverride, Category, Department, RoutingRule, User
from tests.web.conftest import Staff


def test_adding_and_editing_a_department(staff_client, db_session):
    admin = staff_client("admin")
    admin.get("/staff/admin/departments")
    admin.post("/staff/admin/departments", {"code": "ct-chieu-sang", "name": "Công ty Chiếu sáng",
                                            "kind": "utility", "area_code": "92", "active": "1"})
    department = db_session.execute(select(Department).where(
        Department.code == "ct-chieu-sang")).scalar_one()
    assert department.active and department.area_code == "92"
    admin.post(f"/staff/admin/departments/{department.id}",
               {"name": "Công ty Chiếu sáng đô thị", "kind": "utility"})
    assert department.name == "Công ty Chiếu sáng đô thị" and not department.active


def test_a_categorys_time_limits_are_checked(staff_client, db_session):
    category = db_session.execute(select(Category).where(Category.code == "cay-xanh")).scalar_one()
    admin = staff_client("admin")
    admin.get("/staff/admin/categories")
    fields = {"name_vi": "Cây xanh", "name_en": "Trees", "urgency": "normal", "priority": "3",
              "moderate_limit": "8h", "acknowledge_limit": "8h", "resolve_limit": "3 days",
              "extension_limit": "", "active": "1"}
    response = admin.post(f"/staff/admin/categories/{category.id}", fields)
    assert category.resolve_limit == "5d"
    assert "Chưa lưu: Thời hạn giải quyết — một số nguyên rồi m, h hoặc d" in response.get_data(
        as_text=True)
    admin.post(f"/staff/admin/categories/{category.id}", {**fields, "resolve_limit": "3d"})
    assert category.resolve_limit == "3d" and category.extension_limit is None


def test_routing_rules_are_added_and_disabled(staff_client, db_session):
    category = db_session.execute(select(Category).where(Category.code == "khac")).scalar_one()
    department = db_session.execute(select(Department).where(
        Department.code == "ct-ubnd-31135")).scalar_one()
    admin = staff_client("admin")
    admin.get("/staff/admin/rules")
    admin.post("/staff/admin/rules", {"category_id": category.id, "area_code": "31135",
                                      "department_id": department.id, "priority": "1"})
    rule = db_session.execute(select(RoutingRule).where(
        RoutingRule.category_id == category.id)).scalar_one()
    assert rule.area_code == "31135" and rule.active
    assert "UBND Phường Ninh Kiều" in admin.text(f"/staff/admin/rules?category={category.id}")
    admin.post(f"/staff/admin/rules/{rule.id}/disable")
    assert not rule.active


def test_staff_accounts_and_roles(staff_client, db_session, app):
    admin = staff_client("admin")
    admin.get("/staff/admin/users")
    admin.post("/staff/admin/users", {"username": "Lan.Nguyen", "role": "officer",
                                      "password": "mat-khau-dai-2026"})
    assert db_session.execute(select(User).where(User.username == "lan.nguyen")).first() is None
    department = db_session.execute(select(Department).where(
        Department.code == "ct-dien-luc")).scalar_one()
    admin.post("/staff/admin/users", {"username": "Lan.Nguyen", "role": "officer",
                                      "department_id": department.id, "full_name": "Nguyễn Lan",
                                      "password": "mat-khau-dai-2026"})
    user = db_session.execute(select(User).where(User.username == "lan.nguyen")).scalar_one()
    assert user.department_id == department.id
    lan = Staff(app)
    lan.login("lan.nguyen", "mat-khau-dai-2026")
    assert lan.get("/staff/department/").status_code == 200
    # Made a moderator: signed out everywhere, and in again with the new role.
    admin.post(f"/staff/admin/users/{user.id}", {"role": "moderator", "full_name": "Nguyễn Lan",
                                                 "active": "1"})
    assert user.role == "moderator" and user.token_version == 1
    assert lan.get("/staff/department/").status_code == 302


def test_an_admin_cannot_lock_themselves_out(staff_client, db_session):
    admin = staff_client("admin")
    me = db_session.execute(select(User).where(User.username == "admin")).scalar_one()
    admin.get("/staff/admin/users")
    admin.post(f"/staff/admin/users/{me.id}", {"role": "moderator", "active": "1"})
    assert me.role == "admin"


def test_calendar_overrides(staff_client, db_session):
    admin = staff_client("admin")
    admin.get("/staff/admin/calendar")
    admin.post("/staff/admin/calendar", {"day": "2027-06-14", "kind": "day_off",
                                         "note": "Nghỉ bù"})
    assert db_session.get(CalendarOverride, date(2027, 6, 14)).note == "Nghỉ bù"
    # A Sunday is no working day already: refused, said why.
    admin.post("/staff/admin/calendar", {"day": "2027-06-13", "kind": "day_off"})
    assert db_session.get(CalendarOverride, date(2027, 6, 13)) is None
    admin.post("/staff/admin/calendar/2027-06-14/remove")
    assert db_session.get(CalendarOverride, date(2027, 6, 14)) is None


def test_area_choices_follow_the_provinces_the_departments_serve(staff_client, db_session):
    admin = staff_client("admin")
    assert "Phường Ninh Kiều" in admin.text("/staff/admin/departments")
    assert 'value="00004"' not in admin.text("/staff/admin/rules")
    db_session.add(Department(code="hn-ba-dinh", name="UBND Phường Ba Đình", kind="commune",
                              area_code="00004", active=True))
    db_session.flush()
    for page in ("/staff/admin/departments", "/staff/admin/rules"):
        html = admin.text(page)
        assert 'value="00004"' in html and 'label="Thành phố Hà Nội"' in html, page


def _option(html: str, value) -> str:
    start = html.index(f'<option value="{value}"')
    return html[start:html.index("</option>", start)]


def test_an_inactive_parent_or_department_stays_selected_and_is_kept_on_saving(
        staff_client, db_session):
    parent = db_session.execute(select(Department).where(
        Department.code == "ct-so-nnmt")).scalar_one()
    child = db_session.execute(select(Department).where(
        Department.code == "ct-bch-pctt")).scalar_one()
    parent.active = False
    officer = db_session.execute(select(User).where(User.username == "officer")).scalar_one()
    officer.department = parent
    db_session.flush()
    admin = staff_client("admin")
    html = admin.text(f"/staff/admin/departments/{child.id}")
    option = _option(html[html.index('id="parent_id"'):], parent.id)
    assert "selected" in option and "ngừng hoạt động" in option
    admin.post(f"/staff/admin/departments/{child.id}",
               {"name": child.name, "kind": "provincial", "parent_id": parent.id, "active": "1"})
    assert child.parent_id == parent.id
    html = admin.text(f"/staff/admin/users/{officer.id}")
    assert "selected" in _option(html[html.index('id="department_id"'):], parent.id)
    response = admin.post(f"/staff/admin/users/{officer.id}",
                          {"role": "officer", "department_id": parent.id, "active": "1",
                           "full_name": officer.full_name})
    assert response.status_code == 302 and officer.department_id == parent.id
    # A new account is not given to the inactive department.
    assert 'value="%s"' % parent.id not in admin.text("/staff/admin/users")


def test_a_tampered_form_is_refused_in_words_not_a_500(staff_client, db_session):
    admin = staff_client("admin")
    department = db_session.execute(select(Department).where(
        Department.code == "ct-bch-pctt")).scalar_one()
    for url, fields in (
            (f"/staff/admin/departments/{department.id}",
             {"name": "X", "kind": "provincial", "parent_id": "abc"}),
            ("/staff/admin/departments", {"code": "x-1", "name": "X", "kind": "utility",
                                          "parent_id": "1e9"}),
            ("/staff/admin/users", {"username": "lan", "role": "officer",
                                    "department_id": "abc", "password": "mat-khau-dai-2026"}),
            ("/staff/admin/rules", {"category_id": "abc", "department_id": "abc"}),
            ("/staff/admin/departments", {"code": "x\x00", "name": "X", "kind": "utility"}),
            ("/staff/admin/departments", {"code": "x-2", "name": "X", "kind": "utility",
                                          "area_code": "92\x00"})):
        response = admin.post(url, fields)
        assert response.status_code in (200, 400), (url, response.status_code)
        assert "Chưa lưu" in response.get_data(as_text=True), url
    assert department.name != "X"
