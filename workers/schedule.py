"""Periodic jobs, declared as data. One scheduler process (`flask scheduler`) enqueues them."""
from workers import jobs, queues

PERIODIC_JOBS = [
    {"func": jobs.record_heartbeat, "queue_name": queues.MAINTENANCE, "interval": 60,
     "job_timeout": 30},
    # Catches what the after-commit hand-over could not deliver.
    {"func": jobs.relay_outbox, "queue_name": queues.MAINTENANCE, "interval": 15,
     "job_timeout": 60},
    # Photo originals past PHOTO_ORIGINAL_RETENTION_DAYS, every night at 02:00 (UTC).
    {"func": jobs.purge_photo_originals, "queue_name": queues.MAINTENANCE, "cron": "0 2 * * *",
     "job_timeout": 3600},
    # Deadlines: warn at 75%, mark overdue and escalate, remind, close unrated reports.
    # Two runs at once are safe (rows are claimed with SKIP LOCKED), so a slow run
    # does not need the next one held back.
    {"func": jobs.run_sweep, "queue_name": queues.MAINTENANCE, "interval": 60,
     "job_timeout": 300},
]
