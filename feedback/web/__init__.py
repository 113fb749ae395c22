"""The server-rendered web view for staff and the public, Vietnamese first."""
from flask import Blueprint, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from feedback.api.errors import API_PREFIXES

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")

csrf = CSRFProtect()

# Paths whose callers authenticate with a bearer token or an API key, never a cookie:
# a forged cross-site request carries no credential there, so no CSRF token is asked.
CSRF_EXEMPT_PREFIXES = (*API_PREFIXES, "/open311/")

# The web view loads nothing from elsewhere and runs no inline script or style.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


@bp.get("/")
def index():
    return render_template("web/index.html")


def _staff_blueprint() -> Blueprint:
    from feedback.web import admin, auth, department, moderation, reports, supervision

    staff = Blueprint("staff", __name__, url_prefix="/staff")
    staff.register_blueprint(auth.bp)
    staff.register_blueprint(moderation.bp, url_prefix="/moderation")
    staff.register_blueprint(department.bp, url_prefix="/department")
    staff.register_blueprint(reports.bp, url_prefix="/reports")
    staff.register_blueprint(supervision.bp, url_prefix="/supervision")
    staff.register_blueprint(admin.bp, url_prefix="/admin")

    @staff.errorhandler(403)
    def forbidden(error):
        return render_template("web/error.html", status=403), 403

    @staff.errorhandler(404)
    def not_found(error):
        return render_template("web/error.html", status=404), 404

    @staff.errorhandler(429)
    def too_many(error):
        return render_template("web/error.html", status=429), 429

    @staff.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("web/error.html", status=400, csrf=True), 400

    return staff


def init_app(app):
    from feedback.web import auth, common, i18n

    app.register_blueprint(bp)
    app.register_blueprint(_staff_blueprint())
    from feedback.web import public
    app.register_blueprint(public.bp)
    i18n.init_app(app)
    common.init_app(app)
    auth.init_app(app)

    # CSRF on every form: checked here for every path but the token-authenticated API.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    @app.before_request
    def csrf_protect():
        if not request.path.startswith(CSRF_EXEMPT_PREFIXES):
            csrf.protect()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # The API's Swagger UI page runs inline script: it keeps its own rules.
        if response.mimetype == "text/html" and not request.path.startswith("/api/"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.path.startswith("/staff/"):
            # Pages and photos with citizens' data are kept by no cache, the browser's
            # included (shared office computers), nor by the back button; set, not
            # defaulted, so no staff view can opt out by accident.
            response.headers["Cache-Control"] = "no-store"
        return response
