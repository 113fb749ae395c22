"""Settings, read from environment variables when the app is created.

Nothing reads them at import time: `load_config(instance_path)` returns a plain
dict that `create_app()` applies, so tests can build apps with other settings.
"""
import os
from datetime import time

import secrets

MIN_SECRET_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The settings cannot run the app safely."""


def normalise_database_url(url: str) -> str:
    """Accept the usual `postgresql://` forms and use the driver we pin (psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def parse_working_periods(text: str) -> list[tuple[time, time]]:
    """`07:30-11:30,13:00-17:00` → [(07:30, 11:30), (13:00, 17:00)]."""
    periods = []
    for chunk in text.split(","):
        start, _, end = chunk.strip().partition("-")
        try:
            period = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError as exc:
            raise ConfigError(f"WORKING_HOURS: cannot read {chunk!r} as HH:MM-HH:MM") from exc
        if period[0] >= period[1]:
            raise ConfigError(f"WORKING_HOURS: {chunk!r} ends before it starts")
        periods.append(period)
    periods.sort()
    for (_, end), (start, _) in zip(periods, periods[1:]):
        if start < end:
            raise ConfigError("WORKING_HOURS: periods overlap")
    return periods


def instance_secret_key(instance_path: str) -> str:
    """Outside production, a random key kept in the instance folder, so every
    process of one installation signs and checks tokens alike and no one shares a
    key from the source code."""
    path = os.path.join(instance_path, "secret_key")
    try:
        with open(path) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        os.makedirs(instance_path, exist_ok=True)
        key = secrets.token_urlsafe(48)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: str, environ: dict | None = None) -> dict:
    env = os.environ if environ is None else environ
    environment = env.get("FEEDBACK_ENV", "development")
    database_url = env.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "feedback.sqlite3")
    )
    config = {
        "ENVIRONMENT": environment,
        "SECRET_KEY": env.get("SECRET_KEY") or (
            None if environment == "production" else instance_secret_key(instance_path)),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # None means: the run command starts an embedded Redis-compatible server.
        "REDIS_URL": env.get("REDIS_URL") or None,
        "PHOTO_STORAGE": env.get("PHOTO_STORAGE", "folder"),
        "PHOTO_FOLDER": env.get("PHOTO_FOLDER") or os.path.join(instance_path, "photos"),
        "S3_BUCKET": env.get("S3_BUCKET"),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL"),
        "S3_REGION": env.get("S3_REGION"),
        "PHOTO_MAX_BYTES": int(env.get("PHOTO_MAX_BYTES", 15 * 1024 * 1024)),
        "PHOTO_MAX_PIXELS": int(env.get("PHOTO_MAX_PIXELS", 50_000_000)),
        # Originals (with their camera metadata) are deleted this many days after upload.
        "PHOTO_ORIGINAL_RETENTION_DAYS": int(env.get("PHOTO_ORIGINAL_RETENTION_DAYS", 90)),
        "TIME_ZONE": env.get("TIME_ZONE", "Asia/Ho_Chi_Minh"),
        "WORKING_HOURS": parse_working_periods(env.get("WORKING_HOURS", "07:30-11:30,13:00-17:00")),
        "ACCESS_TOKEN_MINUTES": int(env.get("ACCESS_TOKEN_MINUTES", 60)),
        # Staff password guesses per account and client address.
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "REFRESH_TOKEN_DAYS": int(env.get("REFRESH_TOKEN_DAYS", 30)),
        # Notifications pushed as signed JSON to this URL (none: kept for the apps only).
        "PUSH_WEBHOOK_URL": env.get("PUSH_WEBHOOK_URL") or None,
        "PUSH_WEBHOOK_SECRET": env.get("PUSH_WEBHOOK_SECRET") or None,
        "PUSH_TIMEOUT_SECONDS": float(env.get("PUSH_TIMEOUT_SECONDS", 10)),
        # Schedulers (`flask scheduler`) past the first stand by; the active one holds a Redis
        # key this long, refreshed three times as often, and a spare takes over once it
        # expires. 0: no key, every scheduler enqueues.
        "SCHEDULER_LOCK_SECONDS": int(env.get("SCHEDULER_LOCK_SECONDS", 30)),
        # The largest JSON body the API takes (feedback/api/guards.py); multipart intake
        # has its own limit, from PHOTO_MAX_BYTES.
        "API_MAX_BODY_BYTES": int(env.get("API_MAX_BODY_BYTES", 1024 * 1024)),
        # Days a citizen has to rate or reopen a resolved report before it closes.
        "RATING_WINDOW_DAYS": int(env.get("RATING_WINDOW_DAYS", 7)),
        # Reports the deadline sweep claims per batch (each batch one transaction).
        "SWEEP_BATCH_SIZE": int(env.get("SWEEP_BATCH_SIZE", 1000)),
        # The longest period the figures (GET /api/v1/stats) are asked for at once.
        "STATS_MAX_PERIOD_DAYS": int(env.get("STATS_MAX_PERIOD_DAYS", 366)),
        # A supervisor approves answers before citizens see them.
        "RESULT_REVIEW": _flag(env.get("RESULT_REVIEW"), False),
        # Pre-moderation (moderators approve before routing) is the default.
        "PRE_MODERATION": _flag(env.get("PRE_MODERATION"), True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": environment == "production",
        "API_TITLE": "Phản ánh hiện trường API",
        "API_VERSION": "v1",
        # Swagger UI 4 (served from the swagger-ui-bundle package, so the page works
        # on an intranet with no CDN) reads OpenAPI 3.0.
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        "JSON_SORT_KEYS": False,
        # "json" (one object a line, for log collectors), "text", or "none" (leave logging alone).
        "LOG_FORMAT": env.get("LOG_FORMAT") or ("json" if environment == "production" else "text"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # When set, GET /metrics asks for "Authorization: Bearer <METRICS_TOKEN>".
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # How many reverse proxies stand in front (0: none); their X-Forwarded-For is trusted.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        # Citizen sign-in by SMS code. No SMS_GATEWAY_URL: codes go to the log (not in production).
        "SMS_GATEWAY_URL": env.get("SMS_GATEWAY_URL") or None,
        "SMS_GATEWAY_TOKEN": env.get("SMS_GATEWAY_TOKEN") or None,
        "SMS_GATEWAY_TIMEOUT": float(env.get("SMS_GATEWAY_TIMEOUT", 10)),
        "OTP_TTL_SECONDS": int(env.get("OTP_TTL_SECONDS", 300)),
        "OTP_MAX_ATTEMPTS": int(env.get("OTP_MAX_ATTEMPTS", 5)),
        "OTP_SEND_LIMIT_PER_PHONE": env.get("OTP_SEND_LIMIT_PER_PHONE", "3 per 10 minutes;10 per day"),
        "OTP_SEND_LIMIT_PER_ADDRESS": env.get("OTP_SEND_LIMIT_PER_ADDRESS", "20 per hour"),
        "OTP_VERIFY_LIMIT_PER_ADDRESS": env.get("OTP_VERIFY_LIMIT_PER_ADDRESS", "10 per minute;60 per hour"),
        # Report intake: submissions per citizen account and per client address (many
        # phones share one address behind a carrier's NAT), and nearby-duplicate lookups.
        "SUBMIT_RATE_LIMIT": env.get("SUBMIT_RATE_LIMIT", "10 per hour;30 per day"),
        "SUBMIT_ADDRESS_RATE_LIMIT": env.get("SUBMIT_ADDRESS_RATE_LIMIT", "300 per hour"),
        "NEARBY_RATE_LIMIT": env.get("NEARBY_RATE_LIMIT", "60 per minute"),
        "CITIZEN_ACCESS_TOKEN_MINUTES": int(env.get("CITIZEN_ACCESS_TOKEN_MINUTES", 60)),
        # Open311 GeoReport v2 (/open311/v2). media_url is fetched from public addresses only,
        # unless the deployment keeps its media on its own network; within this many seconds.
        "OPEN311_ALLOW_PRIVATE_MEDIA": _flag(env.get("OPEN311_ALLOW_PRIVATE_MEDIA"), False),
        "OPEN311_MEDIA_TIMEOUT": float(env.get("OPEN311_MEDIA_TIMEOUT", 10)),
        "OPEN311_POST_RATE_LIMIT": env.get("OPEN311_POST_RATE_LIMIT", "60 per minute;2000 per day"),
        "OPEN311_CONTACT": env.get("OPEN311_CONTACT", ""),
        "OPEN311_KEY_SERVICE": env.get("OPEN311_KEY_SERVICE", "Xin API key từ quản trị viên "
                                       "hệ thống (ask the system's administrator for a key)."),
        # The public scorecards: computed at most this often per period, and asked for at most
        # this often per client address (each computation reads a period's reports).
        "PUBLIC_SCORECARD_CACHE_SECONDS": float(env.get("PUBLIC_SCORECARD_CACHE_SECONDS", 300)),
        "PUBLIC_SCORECARD_RATE_LIMIT": env.get("PUBLIC_SCORECARD_RATE_LIMIT", "30 per minute"),
        # Web view: a staff sign-in lasts this many hours from signing in, a working day,
        # however busy (an absolute limit: shared office computers); a form's CSRF token
        # lives as long as the sign-in (None), so a form left open over lunch still submits.
        "WEB_SESSION_HOURS": int(env.get("WEB_SESSION_HOURS", 10)),
        "WTF_CSRF_TIME_LIMIT": None,
        # How long a moderator holds a report they opened (Redis claim) before another may.
        "WEB_CLAIM_SECONDS": int(env.get("WEB_CLAIM_SECONDS", 300)),
        # The dashboard's figures are kept this long in Redis (0: computed on every view).
        "DASHBOARD_CACHE_SECONDS": int(env.get("DASHBOARD_CACHE_SECONDS", 120)),
    }
    return config


def check_config(config: dict) -> None:
    """Refuse settings that would be unsafe in production."""
    if config.get("ENVIRONMENT") == "production":
        if len(config.get("SECRET_KEY") or "") < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"FEEDBACK_ENV=production needs SECRET_KEY set to a random value of "
                f"{MIN_SECRET_KEY_LENGTH} characters or more "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if config.get("REDIS_URL") is None:
            raise ConfigError("FEEDBACK_ENV=production needs REDIS_URL")
        if not config.get("METRICS_TOKEN"):
            # /metrics is served on the app's own port, which the mobile app reaches.
            raise ConfigError("FEEDBACK_ENV=production needs METRICS_TOKEN, the bearer token "
                              "Prometheus sends to GET /metrics")
        if config.get("PUSH_WEBHOOK_URL") and not config.get("PUSH_WEBHOOK_SECRET"):
            raise ConfigError("PUSH_WEBHOOK_URL needs PUSH_WEBHOOK_SECRET in production: "
                              "the push service checks each notification's signature with it")
