"""The server-rendered web view for staff and the public, Vietnamese first."""
from flask import Blueprint, render_template

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")


@bp.get("/")
def index():
    return render_template("web/index.html")


def init_app(app):
    app.register_blueprint(bp)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
