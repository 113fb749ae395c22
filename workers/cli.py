"""`flask worker` and `flask scheduler`: build the app once, then serve queues or the schedule."""
import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from feedback.redis import redis_connection
from workers import queues
from workers.schedule import PERIODIC_JOBS
from workers.scheduler import AppScheduler
from workers.worker import serve


def lower_priority(niceness: int) -> None:
    """Yield the CPU to the web processes of the same machine: raise this process's
    nice value, and its session's. With the kernel's autogroup scheduling (on by default
    on desktop and many server kernels) CPU time is shared fairly between sessions
    first, so a worker started in a session of its own would keep half the cores
    whatever its nice value; the autogroup's own nice value is what counts there."""
    os.nice(niceness)
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(niceness))
    except OSError:
        pass  # not Linux, or no autogroup scheduling: the nice value is what counts


@click.command("worker")
@click.argument("queue_names", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--nice", "niceness", type=click.IntRange(0, 19), default=0,
              help="Run at this nice value (and this session's), yielding the CPU to web "
                   "processes on the same machine; 10 is a good value there.")
@with_appcontext
def worker_command(queue_names, burst, niceness):
    """Run an RQ worker on QUEUE_NAMES (default: all queues)."""
    app = current_app._get_current_object()
    unknown = set(queue_names) - set(queues.ALL)
    if unknown:
        raise click.BadParameter(f"unknown queues {sorted(unknown)}; known: {list(queues.ALL)}")
    if niceness:
        lower_priority(niceness)
    serve(app, queue_names or queues.ALL, redis_connection(app), burst=burst)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduler that enqueues periodic jobs. Several may run: one enqueues, the
    others stand by and take over within SCHEDULER_LOCK_SECONDS when it dies."""
    logging.basicConfig(level=logging.INFO)
    app = current_app._get_current_object()
    cron = AppScheduler(redis_connection(app), lock_seconds=app.config["SCHEDULER_LOCK_SECONDS"])
    for job in PERIODIC_JOBS:
        cron.register(**job)
    cron.start()


def init_app(app):
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
