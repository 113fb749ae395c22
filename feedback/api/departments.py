"""Departments, and each department's queue of open reports, soonest deadline first."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from feedback.api.errors import Forbidden, NotFound
from feedback.api.security import BEARER_AUTH, authenticated_user, require_roles
from feedback.extensions import db
from feedback.models import STAFF_ROLES, Department
from feedback.schemas.departments import DepartmentSchema, QueueItemSchema, QueueQuerySchema
from feedback.services import coordination
from feedback.services.access import can_see_department_work
from feedback.services.queues import QueueFilter

blp = Blueprint("departments", __name__, url_prefix="/api/v1/departments",
                description="Departments and their queues")


@blp.route("")
class Departments(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(*STAFF_ROLES)
    @blp.response(200, DepartmentSchema(many=True))
    def get(self):
        """Every active department, for staff."""
        return db.session.execute(
            select(Department).where(Department.active.is_(True))
            .options(joinedload(Department.parent)).order_by(Department.code)
        ).scalars().all()


@blp.route("/<code>/queue")
class DepartmentQueue(MethodView):
    @blp.doc(security=BEARER_AUTH)
    @require_roles(*STAFF_ROLES)
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, QueueItemSchema(many=True))
    @blp.alt_response(403, description="An officer of another department")
    def get(self, query, code):
        """A department's open reports, soonest deadline first: those it leads and those
        it coordinates (`coordinating`: another department leads and moves them).

        Officers see only their own department's queue.
        """
        department = db.session.execute(
            select(Department).where(Department.code == code)
        ).scalar_one_or_none()
        if department is None:
            raise NotFound(f"No department {code}.")
        if not can_see_department_work(authenticated_user(), department.id):
            raise Forbidden("Officers see only their own department's work.")
        items, _ = coordination.department_queue(
            db.session, department.id, filters=QueueFilter(), limit=query["limit"], count=False)
        return items
