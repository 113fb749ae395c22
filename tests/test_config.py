import pytest

from config import ConfigError, check_config, load_config, normalise_database_url
from feedback import create_app


def test_the_usual_postgresql_url_is_given_the_pinned_driver():
    assert normalise_database_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_with_nothing_configured_the_app_uses_sqlite_in_the_instance_folder_and_no_redis(tmp_path):
    config = load_config(str(tmp_path), environ={})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/feedback.sqlite3"
    assert config["REDIS_URL"] is None
    assert config["PHOTO_FOLDER"] == f"{tmp_path}/photos"
    assert config["TIME_ZONE"] == "Asia/Ho_Chi_Minh"
    assert [(str(a), str(b)) for a, b in config["WORKING_HOURS"]] == [
        ("07:30:00", "11:30:00"), ("13:00:00", "17:00:00")]


def test_working_hours_that_overlap_or_run_backwards_are_refused():
    with pytest.raises(ConfigError):
        load_config("/i", environ={"WORKING_HOURS": "08:00-12:00,11:00-17:00"})
    with pytest.raises(ConfigError):
        load_config("/i", environ={"WORKING_HOURS": "17:00-08:00"})
    with pytest.raises(ConfigError):
        load_config("/i", environ={"WORKING_HOURS": "eight to five"})


def test_outside_production_a_random_secret_key_is_kept_in_the_instance_folder(tmp_path):
    first = load_config(str(tmp_path), environ={})["SECRET_KEY"]
    again = load_config(str(tmp_path), environ={})["SECRET_KEY"]
    elsewhere = load_config(str(tmp_path / "other"), environ={})["SECRET_KEY"]
    assert len(first) >= 32 and first == again != elsewhere
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_long_secret_key(tmp_path):
    config = load_config(str(tmp_path), environ={"FEEDBACK_ENV": "production",
                                                 "REDIS_URL": "redis://r"})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        check_config(config)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENVIRONMENT": "production", "SECRET_KEY": "short", "REDIS_URL": "redis://r"})


PRODUCTION = {"FEEDBACK_ENV": "production", "REDIS_URL": "redis://r", "SECRET_KEY": "x" * 48,
              "METRICS_TOKEN": "m" * 32}


def test_production_refuses_to_start_with_metrics_open_or_pushes_unsigned():
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        check_config(load_config("/i", environ={**PRODUCTION, "METRICS_TOKEN": ""}))
    with pytest.raises(ConfigError, match="PUSH_WEBHOOK_SECRET"):
        check_config(load_config("/i", environ={**PRODUCTION,
                                                "PUSH_WEBHOOK_URL": "https://push.example"}))


def test_production_starts_with_a_long_random_secret_and_secure_cookies():
    config = load_config("/i", environ=PRODUCTION)
    check_config(config)
    assert config["SESSION_COOKIE_SECURE"] is True
