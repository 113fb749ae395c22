"""RQ job entry points, the periodic schedule, and the worker and scheduler commands."""
