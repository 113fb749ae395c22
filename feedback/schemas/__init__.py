"""marshmallow schemas: separate input and output schemas, and one output schema
per audience (citizen, department, public), so personal data cannot leak by accident."""

from datetime import date, datetime

import marshmallow as ma

from feedback.services.calendar import FIRST_DAY, LAST_DAY, within_days


def within_calendar(value: date | datetime) -> None:
    """A marshmallow validator for dates and instants: between FIRST_DAY and LAST_DAY."""
    day = value.date() if isinstance(value, datetime) else value
    if not within_days(day):
        raise ma.ValidationError(f"A day from {FIRST_DAY} to {LAST_DAY}.")
