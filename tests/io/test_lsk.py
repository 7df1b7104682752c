"""The generated LSK gives SPICE the same leap seconds (and ET) as NAIF's naif0012.tls up to its end, and the
same leap seconds as marsview's own time conversions after it."""

from __future__ import annotations

import numpy as np
import pytest

from marsview.core.time import utc_to_tdb_s
from marsview.io.lsk import leap_seconds_since_1972, lsk_text, tai_minus_utc_s, write_lsk
from marsview.io.spk import spice_session

SAMPLES_TO_2017 = [
    "1972-01-01T00:00:00", "1972-06-30T23:59:59", "1972-07-01T00:00:00", "1980-05-17T12:34:56.789",
    "1999-01-01T00:00:00", "2005-12-31T23:59:60.5", "2006-01-01T00:00:00", "2012-06-30T23:59:60",
    "2015-07-01T00:00:00.25", "2016-12-31T23:59:60", "2017-01-01T00:00:00",
]


def _deltat_and_et(lsk_path, utcs):
    with spice_session(lsk_path) as sp:
        delta_at = np.asarray(sp.gdpool("DELTET/DELTA_AT", 0, 100))
        ets = np.array([sp.str2et(u) for u in utcs])
    return delta_at, ets


def test_generated_lsk_matches_naif0012_up_to_2017(tmp_path, reference_dir):
    ours = write_lsk(tmp_path / "marsview.tls")
    ours_at, ours_et = _deltat_and_et(ours, SAMPLES_TO_2017)
    naif_at, naif_et = _deltat_and_et(reference_dir / "data" / "naif0012.tls", SAMPLES_TO_2017)
    # naif0012's table ends at 2017-01-01 (37 s); ours must start with exactly the same entries
    assert len(naif_at) == 56 and len(ours_at) >= len(naif_at)
    np.testing.assert_array_equal(ours_at[: len(naif_at)], naif_at)
    np.testing.assert_array_equal(ours_et, naif_et)  # bit-identical: same constants and same table


def test_leap_seconds_agree_with_the_core_after_2017(tmp_path):
    # 2024: SPICE's ET from our LSK and the core's ERFA TDB differ only by the TDB-TT model (< 50 us),
    # never by a whole leap second
    utcs = ["2018-03-01T00:00:00", "2024-04-15T00:00:00", "2026-01-01T12:00:00"]
    _, ets = _deltat_and_et(write_lsk(tmp_path / "g.tls"), utcs)
    core = np.array([utc_to_tdb_s(u) for u in utcs])
    assert np.max(np.abs(ets - core)) < 50e-6
    assert tai_minus_utc_s(2024, 4) == 37
    assert tai_minus_utc_s(1972, 1) == 10 and tai_minus_utc_s(2016, 12) == 36


def test_lsk_text_is_a_valid_kernel():
    text = lsk_text()
    assert text.startswith("KPL/LSK\n")
    assert "\\begindata" in text and text.rstrip().endswith("\\begintext")
    assert "DELTET/K               =    1.657D-03" in text
    rows = leap_seconds_since_1972()
    assert rows[0] == (1972, 1, 10)
    assert [r[2] for r in rows] == list(range(10, 10 + len(rows)))  # one second per step
    with pytest.raises(ValueError, match="before 1972"):
        tai_minus_utc_s(1970, 1)
