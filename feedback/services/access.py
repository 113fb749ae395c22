"""Who may see what: the rules every endpoint asks before it answers."""
from feedback.models import Photo, PhotoState, Report, Role, User

PROVINCE_WIDE_ROLES = frozenset({Role.MODERATOR, Role.SUPERVISOR, Role.ADMIN})
# Who sees a photo a moderator hid.
SEE_HIDDEN_PHOTOS = frozenset({Role.MODERATOR, Role.ADMIN})


def can_see_department_work(user: User, department_id: int | None) -> bool:
    """Province-wide staff see every department; an officer sees only their own."""
    if user.role in PROVINCE_WIDE_ROLES:
        return True
    if user.role == Role.OFFICER:
        return department_id is not None and user.department_id == department_id
    return False


def coordinates(department_id: int | None, report: Report) -> bool:
    """The department is one of the report's coordinating departments, not its lead."""
    return (department_id is not None and report.lead_department_id != department_id
            and any(department.id == department_id for department in report.coordinators))


def can_see_report(user: User, report: Report) -> bool:
    """Province-wide staff see every report; an officer those their department leads or
    coordinates (DESIGN.md: coordinating departments beside the lead one). Seeing is not
    moving: `workflow.check` lets only the lead department's officers move a report."""
    if user.role in PROVINCE_WIDE_ROLES:
        return True
    if user.role == Role.OFFICER and user.department_id is not None:
        return (report.lead_department_id == user.department_id
                or coordinates(user.department_id, report))
    return False


def visible_photos(report: Report, user: User) -> list[Photo]:
    """The report's photos this person may see: ready ones; hidden ones only for
    moderators and admins."""
    return [photo for photo in report.photos
            if photo.state == PhotoState.READY
            and (not photo.is_hidden or user.role in SEE_HIDDEN_PHOTOS)]
