"""Periodic jobs, declared as data. One scheduler process (`flask scheduler`) enqueues them."""
from workers import jobs, queues

PERIODIC_JOBS = [
    {"func": jobs.record_heartbeat, "queue_name": queues.MAINTENANCE, "interval": 60,
     "job_timeout": 30},
    # Catches what the after-commit hand-over could not deliver.
    {"func": jobs.relay_outbox, "queue_name": queues.MAINTENANCE, "interval": 15,
     "job_timeout": 60},
]
