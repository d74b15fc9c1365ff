"""A day (`ds`) given as a date or as text, in the one form files record it: YYYY-MM-DD."""

from __future__ import annotations

import datetime as dt

from pipelines.core.errors import ConfigError


def iso_day(ds: dt.date | str) -> str:
    """`ds` as YYYY-MM-DD; text that is not such a day raises ConfigError naming it."""
    if isinstance(ds, dt.date):
        return ds.isoformat()
    try:
        return dt.date.fromisoformat(ds).isoformat()
    except (TypeError, ValueError):
        raise ConfigError(f"ds {ds!r} is not a day (YYYY-MM-DD)") from None
