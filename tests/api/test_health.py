import socket

import pytest

from feedback import create_app
from workers.jobs import HEARTBEAT_KEY


@pytest.mark.embedded
def test_health_is_ok_when_the_database_and_redis_answer(client, redis, backend):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == {"ok": True, "backend": backend, "reached": True}
    assert response.json["redis"]["ok"] is True
    assert response.json["workers"]["last_heartbeat_seconds_ago"] is None


def test_health_reports_the_age_of_the_last_heartbeat(client, redis):
    redis.set(HEARTBEAT_KEY, "2020-01-01T00:00:00+00:00")
    response = client.get("/healthz")
    assert response.json["workers"]["last_heartbeat_seconds_ago"] > 86400


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_health_is_degraded_but_serving_when_only_redis_does_not_answer(database_url):
    # Reports are still taken without Redis (the outbox keeps their work), so a load
    # balancer must not take every web process out of rotation at once.
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["redis"]["ok"] is False
    assert response.json["database"]["ok"] is True


def test_health_is_503_when_the_database_does_not_answer():
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/x",
        "REDIS_URL": None,
    })
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"]["ok"] is False
    assert response.json["redis"] == {"ok": False, "error": "RedisNotConfigured"}
