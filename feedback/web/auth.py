"""Staff sign-in for the web view: a signed, HTTP-only session cookie, and the role check
every page makes.

The session holds the user's id, `token_version` and when they signed in: bumping the
version (a password reset, a disabled account, signing out) ends web sessions as it
revokes API tokens, and a sign-in ends `WEB_SESSION_HOURS` after it was made, however
busy the session (an office computer left signed in does not stay so for days).
"""
import functools
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from feedback.api.auth import login_limit
from feedback.extensions import db
from feedback.models import STAFF_ROLES, Role, User
from feedback.services.auth import InvalidCredentials, authenticate_staff, sign_out_everywhere
from feedback.web.i18n import LANGUAGES, gettext as _

bp = Blueprint("auth", __name__)
_STAFF_KEY = "feedback.web.staff"
_SIGN_IN_KEYS = ("staff_id", "staff_ver", "staff_since")

# Where each role starts.
HOME = {
    Role.MODERATOR: "staff.moderation.queue",
    Role.OFFICER: "staff.department.queue",
    Role.SUPERVISOR: "staff.supervision.dashboard",
    Role.ADMIN: "staff.moderation.queue",
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def _signed_in_recently() -> bool:
    """Signed in less than WEB_SESSION_HOURS ago. Flask renews a permanent session's
    cookie on every request, so the limit since signing in is kept in the session."""
    since = session.get("staff_since")
    if not isinstance(since, int):
        return False
    lifetime = timedelta(hours=current_app.config["WEB_SESSION_HOURS"])
    return now() - datetime.fromtimestamp(since, timezone.utc) < lifetime


def current_staff() -> User | None:
    """The signed-in staff member, or None. Read once per request (cached on the request
    itself: an app context, and its `g`, may outlive one request)."""
    if _STAFF_KEY not in request.environ:
        user = None
        user_id = session.get("staff_id")
        if user_id is not None:
            user = db.session.get(User, user_id) if _signed_in_recently() else None
            if not (user is not None and user.active and user.deleted_at is None
                    and user.role in STAFF_ROLES
                    and user.token_version == session.get("staff_ver")):
                user = None
                for key in _SIGN_IN_KEYS:
                    session.pop(key, None)
        request.environ[_STAFF_KEY] = user
    return request.environ[_STAFF_KEY]


def staff_required(*roles: Role):
    """Only signed-in staff of these roles (any staff role when none is named)."""
    allowed = frozenset(roles) or STAFF_ROLES

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_staff()
            if user is None:
                return redirect(url_for("staff.auth.login", next=request.full_path))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never send a signed-in person elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: User) -> str:
    return url_for(HOME[user.role])


@bp.route("/login", methods=["GET", "POST"])
# The API's limit itself, so guesses here and at POST /api/v1/auth/login add up.
@login_limit(lambda: request.form.get("username"))
def login():
    user = current_staff()
    if request.method == "GET":
        if user is not None:
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        return render_template("web/login.html", next=request.args.get("next", ""))
    moment = now()
    try:
        user = authenticate_staff(db.session, request.form.get("username", ""),
                                  request.form.get("password", ""), moment)
    except InvalidCredentials:
        db.session.rollback()
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
        return render_template("web/login.html", next=request.form.get("next", ""),
                               username=request.form.get("username", "")), 401
    db.session.commit()
    language = session.get("lang")
    session.clear()
    session.permanent = True
    session["staff_id"] = user.id
    session["staff_ver"] = user.token_version
    session["staff_since"] = int(moment.timestamp())
    if language:
        session["lang"] = language
    return redirect(safe_next(request.form.get("next")) or home_for(user))


@bp.post("/logout")
def logout():
    """Sign out for good: the version the session carries is bumped, so a copy of this
    cookie is worth nothing; the user's other sessions and API tokens end with it, as
    the API's sign-out does."""
    user = current_staff()
    if user is not None:
        sign_out_everywhere(user)
        db.session.commit()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("staff.auth.login"))


@bp.post("/language")
def language():
    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")) or url_for("staff.auth.home"))


@bp.get("/")
def home():
    user = current_staff()
    if user is None:
        return redirect(url_for("staff.auth.login"))
    return redirect(home_for(user))


ROLE_NAMES = {
    Role.OFFICER: "Cán bộ đơn vị",
    Role.MODERATOR: "Kiểm duyệt viên",
    Role.SUPERVISOR: "Lãnh đạo",
    Role.ADMIN: "Quản trị viên",
    Role.CITIZEN: "Công dân",
}


def init_app(app) -> None:
    app.permanent_session_lifetime = timedelta(hours=app.config["WEB_SESSION_HOURS"])

    @app.context_processor
    def staff_context():
        return {"staff": current_staff() if has_request_context() else None,
                "role_names": ROLE_NAMES}
