"""Who may see what: the rules every endpoint asks before it answers."""
from feedback.models import Role, User

PROVINCE_WIDE_ROLES = frozenset({Role.MODERATOR, Role.SUPERVISOR, Role.ADMIN})


def can_see_department_work(user: User, department_id: int | None) -> bool:
    """Province-wide staff see every department; an officer sees only their own."""
    if user.role in PROVINCE_WIDE_ROLES:
        return True
    if user.role == Role.OFFICER:
        return department_id is not None and user.department_id == department_id
    return False
