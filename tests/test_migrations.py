"""Every migration upgrades an empty database to head, and the models match it."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from feedback import create_app
from feedback.extensions import db
from tests.conftest import POSTGRES_URL, fresh_postgres_database


def upgrade_empty_database(url: str) -> list:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    return diff, tables


@pytest.fixture
def empty_postgresql():
    url = POSTGRES_URL + "_migrations"
    return fresh_postgres_database(url)


def test_an_empty_postgresql_database_upgrades_to_head_with_nothing_left_to_autogenerate(
        empty_postgresql):
    diff, tables = upgrade_empty_database(empty_postgresql)
    assert diff == []
    assert {"reports", "report_events", "photos", "areas", "departments", "routing_rules",
            "categories", "users", "outbox_messages", "notifications"} <= tables


def test_an_empty_sqlite_database_upgrades_to_head_with_nothing_left_to_autogenerate(tmp_path):
    diff, tables = upgrade_empty_database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert diff == []
    assert "reports" in tables
