"""The scheduler behind `flask scheduler`: RQ's CronScheduler, kept running while Redis is
away, with one scheduler active at a time when several run.

RQ's own loop exits on the first Redis error, so a Redis restart used to stop the
periodic jobs (the outbox relay among them) until someone restarted the process. This
loop waits for Redis and carries on: a job that fell due meanwhile is enqueued as soon
as Redis answers again.

With `lock_seconds`, the scheduler that holds a Redis key (`LOCK_KEY`, set with a time to
live and refreshed three times per period) enqueues; any other stands by and takes the
key once it has expired, so a second scheduler is a spare rather than a double. A
scheduler that stops cleanly gives the key back at once. The periodic jobs are safe to
run twice anyway (two schedulers for a moment, during a takeover, do no harm).
"""
from __future__ import annotations

import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

LOCK_KEY = "phananh:scheduler:active"
# The longest wait between two tries while Redis does not answer.
MAX_RETRY_SECONDS = 10

# Take the key if it is free, or keep it if it is ours: (key, name, ttl ms) → 1 or 0.
_HOLD = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('pexpire', KEYS[1], ARGV[2])
    return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class AppScheduler(CronScheduler):
    """A CronScheduler that survives Redis outages and, with `lock_seconds` > 0, enqueues
    only while it holds the scheduler key."""

    def __init__(self, connection: Redis, *, lock_seconds: int = 0, **kwargs):
        super().__init__(connection, **kwargs)
        self.lock_seconds = lock_seconds
        self.active = False
        self._hold = connection.register_script(_HOLD)
        self._release = connection.register_script(_RELEASE)

    @property
    def refresh_seconds(self) -> float:
        return self.lock_seconds / 3

    def hold_lock(self) -> bool:
        """Whether this scheduler may enqueue now: it holds the key (taking it if free)."""
        if self.lock_seconds <= 0:
            return True
        return bool(self._hold(keys=[LOCK_KEY], args=[self.name, int(self.lock_seconds * 1000)]))

    def release_lock(self) -> None:
        if self.lock_seconds > 0:
            self._release(keys=[LOCK_KEY], args=[self.name])

    def calculate_sleep_interval(self) -> float:
        if self.lock_seconds <= 0:
            return super().calculate_sleep_interval()
        if not self.active:
            return self.refresh_seconds
        return min(super().calculate_sleep_interval(), self.refresh_seconds)

    def step(self) -> float:
        """One turn: keep or take the key, enqueue what is due, beat; answers the sleep."""
        active = self.hold_lock()
        if active != self.active:
            self.log.info("CronScheduler %s: %s", self.name,
                          "active: enqueuing periodic jobs" if active
                          else "standing by: another scheduler is active")
            self.active = active
        if active and self.enqueue_jobs():
            self.save()
        self.heartbeat()
        return self.calculate_sleep_interval()

    def start(self):
        self.log.info("CronScheduler %s: starting...", self.name)
        self._install_signal_handlers()
        registered = False
        retry = 1.0
        try:
            while True:
                try:
                    if not registered:
                        self.register_birth()
                        registered = True
                    sleep = self.step()
                    retry = 1.0
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    # The key may expire meanwhile; who holds it is settled when Redis is back.
                    self.active = False
                    self.log.warning("CronScheduler %s: Redis unavailable (%s); trying again "
                                     "in %.0f s", self.name, exc, retry)
                    sleep, retry = retry, min(retry * 2, MAX_RETRY_SECONDS)
                if sleep > 0:
                    time.sleep(sleep)
        except (KeyboardInterrupt, StopRequested):
            self.log.info("CronScheduler %s: stop requested", self.name)
        finally:
            try:
                self.release_lock()
                self.register_death()
            except RedisError:
                pass  # Redis is away: the key expires by itself
            self.log.info("CronScheduler %s: shutdown complete", self.name)
