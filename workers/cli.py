"""`flask worker` and `flask scheduler`: build the app once, then serve queues or the schedule."""
import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from rq.cron import CronScheduler

from feedback.redis import redis_connection
from workers import queues
from workers.schedule import PERIODIC_JOBS
from workers.worker import make_worker


@click.command("worker")
@click.argument("queue_names", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queue_names, burst):
    """Run an RQ worker on QUEUE_NAMES (default: all queues)."""
    app = current_app._get_current_object()
    unknown = set(queue_names) - set(queues.ALL)
    if unknown:
        raise click.BadParameter(f"unknown queues {sorted(unknown)}; known: {list(queues.ALL)}")
    worker = make_worker(app, queue_names or queues.ALL, redis_connection(app))
    worker.work(burst=burst, logging_level="INFO", with_scheduler=False)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the one scheduler process that enqueues periodic jobs (run only one)."""
    logging.basicConfig(level=logging.INFO)
    cron = CronScheduler(connection=redis_connection(current_app._get_current_object()))
    for job in PERIODIC_JOBS:
        cron.register(**job)
    cron.start()


def init_app(app):
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
