"""The app's Redis connection, made once per app and per process."""
import redis
from flask import Flask


class RedisNotConfigured(RuntimeError):
    pass


def redis_connection(app: Flask) -> redis.Redis:
    connection = app.extensions.get("feedback_redis")
    if connection is None:
        url = app.config.get("REDIS_URL")
        if not url:
            raise RedisNotConfigured(
                "REDIS_URL is not set. `make run` starts an embedded server and sets it; "
                "otherwise point it at a Redis server."
            )
        connection = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        app.extensions["feedback_redis"] = connection
    return connection
