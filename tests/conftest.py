"""Fixtures: an app on real PostgreSQL (or SQLite with --database=sqlite) and real Redis.

The schema is built once per run by the migrations, with the areas and the demo
province loaded. Each test then runs inside a transaction that is rolled back.
"""
import os
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import redis as redis_client
from flask_migrate import upgrade
from sqlalchemy import make_url
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from config import normalise_database_url
from feedback import create_app
from feedback.extensions import db
from feedback.services.areas import import_areas, official_areas
from feedback.services.demo import load_demo

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/phananh_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_addoption(parser):
    parser.addoption("--database", choices=["postgresql", "sqlite"], default="postgresql",
                     help="the database the app under test uses")


def fresh_postgres_database(url: str, *, template: str | None = None) -> str:
    """Drop and create the database `url` names (a copy of `template`, if given);
    answer its SQLAlchemy URL."""
    parsed = make_url(normalise_database_url(url))
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{parsed.database}"{copy}')
    return parsed.render_as_string(hide_password=False)


def build_schema(app) -> None:
    """Migrate the app's database and load the areas and the demo province into it."""
    with app.app_context():
        upgrade()
        import_areas(db.session, official_areas())
        load_demo(db.session)
        db.session.commit()
        db.session.remove()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of the test's own, on a free port, for the fault tests to stop."""
    from tests.faults import OwnRedis

    server = OwnRedis(tmp_path / "redis").start()
    yield server
    try:
        server.stop()
    except Exception:  # noqa: BLE001 - already stopped by the test
        pass


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--database")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "feedback.sqlite3")
    return fresh_postgres_database(POSTGRES_URL)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        "PHOTO_FOLDER": str(tmp_path_factory.mktemp("photos")),
        # Tests sign in far more often than people do; the limit has its own test.
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "LOG_FORMAT": "none",
    })
    build_schema(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    """A session inside a transaction that is rolled back after the test.

    Code under test may commit: its commits end savepoints, not the transaction.
    """
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        factory = sessionmaker(bind=connection, class_=Session,
                               join_transaction_mode="create_savepoint")
        original = db.session
        db.session = scoped_session(factory)
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


def limiter_counting_in(app) -> None:
    """Flask-Limiter's limiter is one object per process, and every app made binds it to
    that app's storage: after a test that made an app of its own (the browser tests, the
    fault tests, with a Redis they stop) it would count there, or in memory across
    tests. This binds it back to `app`'s storage (Flask-Limiter 4.1.1's own attributes,
    as its init_app sets them; the version is pinned)."""
    from flask_limiter._extension import STRATEGIES
    from limits.storage import storage_from_string

    from feedback.extensions import limiter

    ours = getattr(limiter, "_test_storage", None)
    if ours is None or limiter._storage is not ours or limiter._storage_dead:
        ours = storage_from_string(app.config["RATELIMIT_STORAGE_URI"],
                                   **limiter._storage_options)
        limiter._storage, limiter._test_storage = ours, ours
        limiter._limiter = STRATEGIES[limiter._strategy](ours)
        limiter._storage_dead = False


@pytest.fixture
def client(app, db_session):
    limiter_counting_in(app)
    return app.test_client()


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


@pytest.fixture
def redis(app):
    connection = redis_client.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.fixture
def login(client):
    """login(username, password) → the bearer token, asserting the sign-in worked."""

    def login(username: str, password: str) -> str:
        response = client.post("/api/v1/auth/login", json={"username": username,
                                                          "password": password})
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    return login


@pytest.fixture
def auth_header(login):
    """auth_header("officer") → headers for that demo user."""
    from feedback.services.demo import DEMO_USERS

    passwords = {user.username: user.password for user in DEMO_USERS}

    def auth_header(username: str) -> dict:
        return {"Authorization": f"Bearer {login(username, passwords[username])}"}

    return auth_header


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
