"""Calendar rules of mediation: moments, district dates, the deadline from intake's data."""

from datetime import date, datetime, time, timedelta

MEDIATION_DAYS = 15  # Art. 14: 15 days from the receipt of the application


def local_date(moment, tz):
    return moment.astimezone(tz).date()


def start_of_day(day, tz):
    return datetime.combine(day, time.min, tzinfo=tz)


def moment(value):
    """A stored RFC 3339 timestamp as an aware datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def day(value):
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def deadline_from(value, received_at, tz):
    """The mediation deadline from intake's `mediation_deadline`.

    A timestamp is taken as it is; a bare date means the end of that day in the district;
    without one the deadline is 15 days after receipt.
    """
    if value:
        if len(value) == 10:
            return start_of_day(date.fromisoformat(value) + timedelta(days=1), tz)
        return datetime.fromisoformat(value)
    return moment(received_at) + timedelta(days=MEDIATION_DAYS)


def certificate_valid_on(certificate_no, certificate_expires, today):
    """A mediator certificate is valid through its expiry date (持证上岗)."""
    return bool(certificate_no) and certificate_expires is not None and today <= certificate_expires
