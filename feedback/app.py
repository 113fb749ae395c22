"""The application factory."""
import os
import tempfile

import swagger_ui_bundle
from flask import Flask, Request, current_app, send_from_directory
from sqlalchemy import event

from config import check_config, load_config
from feedback import api, commands, logs, metrics, web
from feedback.services import outbox, stats
from feedback.extensions import db, limiter, migrate
from feedback.services import sms
from feedback.redis import TIMEOUTS as redis_timeouts


class FeedbackRequest(Request):
    """Parts of a form up to the photo size limit stay in memory: intake reads each photo
    whole to check its bytes anyway, and werkzeug would write any part of a body over
    500 KB to a temporary file first and read it back (about 8 ms of a 3 MB photo's
    upload on this kind of machine). Larger parts, refused later, still go to disk."""

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return tempfile.SpooledTemporaryFile(
            max_size=current_app.config.get("PHOTO_MAX_BYTES", 15 * 1024 * 1024) + 1)


def create_app(test_config: dict | None = None) -> Flask:
    # INSTANCE_PATH moves the instance folder (SQLite file, photos) elsewhere.
    instance_path = os.environ.get("INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path and os.path.abspath(instance_path),
                instance_relative_config=True)
    app.request_class = FeedbackRequest
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    check_config(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(redis_timeouts))
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N reverse proxies, trust N X-Forwarded-For hops for the client address.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    logs.init_app(app)
    db.init_app(app)
    outbox.install_after_commit_hand_over()
    stats.keep_durations()
    limiter.init_app(app)
    sms.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)

    api.init_app(app)
    metrics.init_app(app)
    web.init_app(app)
    commands.init_app(app)
    from workers import cli as worker_cli
    worker_cli.init_app(app)

    @app.get("/api/v1/docs/assets/<path:filename>")
    def swagger_assets(filename):
        # Swagger UI served from a package, so the docs page works with no CDN.
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    return app


def _tune_sqlite(engine) -> None:
    """WAL lets readers run beside the one writer; wait for a busy database, do not fail."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
