"""What the benchmarks share: a fresh PostgreSQL database, percentiles, the machine."""
import platform
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from config import normalise_database_url


def say(message: str) -> None:
    print(message, flush=True)


def fresh_database(url: str, *, driver: str = "postgresql+psycopg") -> str:
    """Drop and create the database `url` names; answer its URL with `driver`."""
    parsed = make_url(normalise_database_url(url))
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{parsed.database}"')
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank value at `share` (0.5: the median, 0.99: p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
