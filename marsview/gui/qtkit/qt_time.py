"""Qt date-time <-> TDB seconds, for every widget that edits an epoch (one place, so they all agree).

A QDateTime here is always UTC to the millisecond; the conversion to TDB goes through ``core.time``.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime

from marsview.core.time import tdb_s_to_utc, utc_to_tdb_s


def qdatetime_from_tdb_s(tdb_s: float) -> QDateTime:
    """The UTC QDateTime (millisecond precision) of TDB_S seconds past J2000."""
    text = tdb_s_to_utc(tdb_s, digits=3).replace("Z", "")
    dt = QDateTime.fromString(text[:23], "yyyy-MM-ddTHH:mm:ss.zzz")
    dt.setTimeZone(QDateTime.currentDateTimeUtc().timeZone())
    return dt


def tdb_s_from_qdatetime(dt: QDateTime) -> float:
    """TDB seconds past J2000 of the UTC QDateTime DT."""
    return utc_to_tdb_s(dt.toString("yyyy-MM-ddTHH:mm:ss.zzz"))
