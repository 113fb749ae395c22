"""Administrators' pages: departments, categories and their deadlines, routing rules, staff
accounts and roles, and calendar overrides. Thin: each form calls one service function."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from feedback.extensions import db
from feedback.models import (
    STAFF_ROLES,
    Area,
    CalendarOverride,
    Category,
    Department,
    DepartmentKind,
    OverrideKind,
    Role,
    RoutingRule,
    Urgency,
    User,
)
from feedback.services import administration, areas, overrides
from feedback.web import errors
from feedback.web.auth import current_staff, staff_required
from feedback.web.common import now
from feedback.web.i18n import gettext as _

bp = Blueprint("admin", __name__)

KIND_LABELS = {
    DepartmentKind.PROVINCIAL: "Sở, ngành",
    DepartmentKind.COMMUNE: "UBND xã, phường",
    DepartmentKind.UTILITY: "Đơn vị dịch vụ",
    DepartmentKind.OPERATIONS: "Trung tâm điều hành",
    DepartmentKind.OTHER: "Khác",
}
URGENCY_LABELS = {Urgency.NORMAL: "Thông thường", Urgency.COMPLEX: "Phức tạp",
                  Urgency.URGENT: "Khẩn cấp"}


def _refused(error):
    """An administration or calendar refusal, said in the reader's language."""
    db.session.rollback()
    field, why = errors.refusal_message(error)
    flash(_("Chưa lưu: %(field)s — %(message)s", field=field, message=why), "error")


def _departments(*current: Department | None):
    """The departments a select offers: the active ones, and the form's `current` value
    even if inactive (the template marks it), so saving keeps it."""
    shown = Department.active.is_(True)
    kept = [department.id for department in current if department is not None]
    if kept:
        shown = or_(shown, Department.id.in_(kept))
    return db.session.execute(
        select(Department).where(shown).order_by(Department.kind, Department.name)
    ).scalars().all()


def _areas(*current: str | None):
    """[(province, communes)] to choose an area from: the provinces the deployment's
    departments serve (`areas.deployment_areas`, as Open311 offers), and the province of
    a `current` value outside them."""
    offered = areas.deployment_areas(db.session)
    listed = {province.code for province, _communes in offered}
    listed |= {commune.code for _province, communes in offered for commune in communes}
    for code in current:
        area = db.session.get(Area, code) if code and code not in listed else None
        if area is not None:
            province = db.session.get(Area, area.province_code) if area.province_code else area
            offered.append((province, [area] if area is not province else []))
            listed.add(code)
    return offered


@bp.get("/")
@staff_required(Role.ADMIN)
def index():
    counts = {
        "departments": db.session.scalar(select(func.count()).select_from(Department)),
        "categories": db.session.scalar(select(func.count()).select_from(Category)),
        "rules": db.session.scalar(select(func.count()).select_from(RoutingRule)
                                   .where(RoutingRule.active.is_(True))),
        "users": db.session.scalar(select(func.count()).select_from(User)
                                   .where(User.role.in_(sorted(STAFF_ROLES)))),
        "overrides": db.session.scalar(select(func.count()).select_from(CalendarOverride)),
    }
    return render_template("web/admin/index.html", counts=counts)


# Departments ------------------------------------------------------------------------------

@bp.route("/departments", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def departments():
    if request.method == "POST":
        try:
            department = administration.save_department(db.session, None, request.form)
            db.session.commit()
            flash(_("Đã thêm đơn vị %(name)s.", name=department.name), "success")
            return redirect(url_for(".departments"))
        except administration.Refused as error:
            _refused(error)
    query = request.args.get("q", "").strip()
    statement = select(Department).options(joinedload(Department.parent)).order_by(
        Department.kind, Department.name)
    if query:
        statement = statement.where(Department.name.ilike(f"%{query}%")
                                    | Department.code.ilike(f"%{query}%"))
    return render_template("web/admin/departments.html",
                           departments=db.session.execute(statement).scalars().all(),
                           all_departments=_departments(), areas=_areas(),
                           kinds=KIND_LABELS, q=query, editing=None)


@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def department(department_id):
    item = db.session.get(Department, department_id) or abort(404)
    if request.method == "POST":
        try:
            administration.save_department(db.session, item, request.form)
            db.session.commit()
            flash(_("Đã lưu đơn vị %(name)s.", name=item.name), "success")
            return redirect(url_for(".departments"))
        except administration.Refused as error:
            _refused(error)
    return render_template("web/admin/department_form.html", item=item,
                           all_departments=_departments(item.parent),
                           areas=_areas(item.area_code), kinds=KIND_LABELS)


# Categories -------------------------------------------------------------------------------

@bp.get("/categories")
@staff_required(Role.ADMIN)
def categories():
    items = db.session.execute(select(Category).order_by(Category.sort_order)).scalars().all()
    return render_template("web/admin/categories.html", items=items, urgencies=URGENCY_LABELS)


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def category(category_id):
    item = db.session.get(Category, category_id) or abort(404)
    if request.method == "POST":
        try:
            administration.save_category(db.session, item, request.form)
            db.session.commit()
            flash(_("Đã lưu lĩnh vực %(name)s.", name=item.name_vi), "success")
            return redirect(url_for(".categories"))
        except administration.Refused as error:
            _refused(error)
    return render_template("web/admin/category_form.html", item=item, urgencies=URGENCY_LABELS)


# Routing rules ----------------------------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def rules():
    if request.method == "POST":
        fields = request.form.to_dict()
        fields["coordinators"] = request.form.getlist("coordinators")
        try:
            administration.add_rule(db.session, fields, now=now())
            db.session.commit()
            flash(_("Đã thêm quy tắc định tuyến."), "success")
            return redirect(url_for(".rules", category=fields.get("category_id")))
        except administration.Refused as error:
            _refused(error)
    categories_ = db.session.execute(select(Category).order_by(Category.sort_order)).scalars().all()
    chosen = request.args.get("category", type=int) or (categories_[0].id if categories_ else None)
    items = db.session.execute(
        select(RoutingRule).where(RoutingRule.category_id == chosen)
        .options(joinedload(RoutingRule.area), joinedload(RoutingRule.department),
                 selectinload(RoutingRule.coordinators))
        .order_by(RoutingRule.area_code.is_not(None), RoutingRule.area_code,
                  RoutingRule.priority.desc())
    ).unique().scalars().all()
    return render_template("web/admin/rules.html", items=items, categories=categories_,
                           chosen=chosen, departments=_departments(), areas=_areas())


@bp.post("/rules/<int:rule_id>/<any(enable, disable):action>")
@staff_required(Role.ADMIN)
def rule_active(rule_id, action):
    rule = db.session.get(RoutingRule, rule_id) or abort(404)
    administration.set_rule_active(db.session, rule, action == "enable")
    db.session.commit()
    flash(_("Đã bật quy tắc.") if action == "enable" else _("Đã tắt quy tắc."), "success")
    return redirect(url_for(".rules", category=rule.category_id))


# Users ------------------------------------------------------------------------------------

@bp.route("/users", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def users():
    if request.method == "POST":
        try:
            user = administration.add_staff(db.session, request.form)
            db.session.commit()
            flash(_("Đã tạo tài khoản %(name)s.", name=user.username), "success")
            return redirect(url_for(".users"))
        except administration.Refused as error:
            _refused(error)
    items = db.session.execute(
        select(User).where(User.role.in_(sorted(STAFF_ROLES)))
        .options(joinedload(User.department)).order_by(User.role, User.username)
    ).scalars().all()
    return render_template("web/admin/users.html", items=items, departments=_departments(),
                           roles=sorted(STAFF_ROLES))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def user(user_id):
    item = db.session.get(User, user_id)
    if item is None or item.role not in STAFF_ROLES:
        abort(404)
    if request.method == "POST":
        try:
            administration.update_staff(db.session, item, request.form, actor=current_staff())
            db.session.commit()
            flash(_("Đã lưu tài khoản %(name)s.", name=item.username), "success")
            return redirect(url_for(".users"))
        except administration.Refused as error:
            _refused(error)
    return render_template("web/admin/user_form.html", item=item,
                           departments=_departments(item.department), roles=sorted(STAFF_ROLES))


# Calendar overrides -----------------------------------------------------------------------

@bp.route("/calendar", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def calendar():
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.form.get("day", ""))
            kind = OverrideKind(request.form.get("kind"))
        except ValueError:
            flash(_("Hãy chọn ngày và loại."), "error")
        else:
            try:
                overrides.add_override(db.session, day=day, kind=kind,
                                       note=request.form.get("note"), actor=current_staff(),
                                       now=now())
                db.session.commit()
                flash(_("Đã thêm ngày %(day)s.", day=day.strftime("%d/%m/%Y")), "success")
                return redirect(url_for(".calendar"))
            except overrides.OverrideRefused as refusal:
                _refused(refusal)
    return render_template("web/admin/calendar.html",
                           items=overrides.list_overrides(db.session), kinds=list(OverrideKind))


@bp.post("/calendar/<day>/remove")
@staff_required(Role.ADMIN)
def remove_override(day):
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if overrides.remove_override(db.session, parsed):
        db.session.commit()
        flash(_("Đã xoá ngày %(day)s.", day=parsed.strftime("%d/%m/%Y")), "success")
    return redirect(url_for(".calendar"))

