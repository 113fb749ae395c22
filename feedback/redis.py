"""The app's Redis connection, made once per app and per process."""
import redis
from flask import Flask


# A request that meets a hung Redis (one that accepts connections and never answers) gives
# up after a second: what it wanted there waits (the outbox) or is done without it (the
# limiter counts in memory). An RQ worker raises the read timeout on its own connection
# to wait for jobs.
TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}


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
        connection = redis.Redis.from_url(url, **TIMEOUTS, health_check_interval=30)
        app.extensions["feedback_redis"] = connection
    return connection
