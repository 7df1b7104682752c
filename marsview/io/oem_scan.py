"""Bulk scan of OEM data lines: one compiled pass over the bytes of a run of data lines (numba).

``scan_data_lines`` turns the text of many ``epoch X Y Z X_DOT Y_DOT Z_DOT [X_DDOT Y_DDOT Z_DDOT]`` lines into
the epoch fields (whole minutes since 2000-01-01T00:00 of the file's time scale, seconds of the minute, as
``kvn.EpochArray`` keeps them) and float64 values, without a Python object per line or per number. That is
what reads a million-line OEM in well under a second.

It only accepts what it can read *exactly as the line-by-line reader would*:
- epochs ``YYYY-MM-DDThh:mm:ss[.f][Z]`` and ``YYYY-DDDThh:mm:ss[.f][Z]`` (fraction up to 15 digits), fields in
  range (the same checks as ``kvn.EpochArray.parse``);
- numbers of the CCSDS form ``[+-]digits[.digits][(e|E)[+-]digits]``. A number whose significand is below
  2**53 and whose decimal exponent is within +-22 is converted with one correctly rounded division or product
  (Clinger's fast path: both operands are exact, so the result is the nearest float64, identical to
  ``float(text)``). A significand of up to 18 digits (the shortest round-trip text of a float64 has up to
  17; decimal exponent within +-27) gets a first guess, corrected and certified with a double-double
  residual, and where the decimal lies within 1e-7 ulp of a rounding boundary, decided by exact 128-bit
  integer comparisons with the boundary (ties to even). Anything else is left to Python's ``float``
  (listed in ``hard``).
Anything else -- a wrong field count, a character outside the number syntax, an epoch out of range or out of
order -- stops the scan with a status, and the caller reads those lines through the line-by-line reader,
which reports the exact ``file:line: keyword`` error (or accepts a valid form this scan does not handle).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import sys

import numpy as np

log = logging.getLogger(__name__)

OK, IRREGULAR = 0, 1
MAX_FRACTION_DIGITS = 15
MIN_LINES = 20_000
"""Files shorter than this are read line by line unless numba is already loaded (importing it costs ~1 s)."""
_kernel = None


def enabled(file_lines: int) -> bool:
    """Whether to scan a file of FILE_LINES lines in bulk. Never with MARSVIEW_NO_JIT=1 (the line reader then
    does everything)."""
    if os.environ.get("MARSVIEW_NO_JIT", "").strip() not in ("", "0"):
        return False
    if "numba" in sys.modules:
        return True
    return file_lines >= MIN_LINES and importlib.util.find_spec("numba") is not None


def warm_up() -> None:
    """Import numba and compile (or load from numba's cache) the scan kernel."""
    scan_data_lines(np.frombuffer(b"2024-01-01T00:00:00 1 2 3 4 5 6\n", np.uint8), 0, True)


def scan_data_lines(buf: np.ndarray, ncols: int, utc: bool):
    """Scan BUF (uint8 text of whole lines; blank lines allowed) with NCOLS fields per line (0: from the first).

    Returns (status, n, ncols, max_fraction_digits, first_is_doy, line, minutes, seconds, values, hard):
    ``line`` the 0-based line index (in BUF) of each of the n data rows; ``hard`` (k, 4) rows of (row, column,
    start, stop) for numbers to convert with ``float``. On IRREGULAR the caller must re-read BUF line by line.
    """
    kernel = _get_kernel()
    n_max = int(np.count_nonzero(buf == 10)) + 1
    minutes = np.empty(n_max, np.int64)
    seconds = np.empty(n_max)
    values = np.empty((n_max, 9))
    line = np.empty(n_max, np.int64)
    hard = np.empty((1024, 4), np.int64)
    while True:
        status, n, ncols_out, digits, doy, n_hard = kernel(buf, ncols, utc, minutes, seconds, values, line, hard)
        if n_hard <= hard.shape[0]:
            break
        hard = np.empty((n_hard, 4), np.int64)  # rare: many long numbers; scan again with room for all
    return (status, n, ncols_out, digits, bool(doy), line[:n], minutes[:n], seconds[:n],
            values[:n, :max(ncols_out - 1, 0)], hard[:n_hard])


def _get_kernel():
    global _kernel, _mul128, _shl128, _bits128, _cmp_scaled, _upper_midpoint_cmp, _correctly_rounded, _two_product
    if _kernel is None:
        import numba

        def jit(func):
            try:
                return numba.njit(cache=True, nogil=True)(func)
            except RuntimeError as exc:  # no writable cache location (read-only install)
                log.info("numba cache unavailable, compiling %s without it: %s", func.__name__, exc)
                return numba.njit(cache=False, nogil=True)(func)

        # the helpers become module globals before the kernels that call them are compiled
        _mul128, _shl128, _bits128 = jit(_mul128_py), jit(_shl128_py), jit(_bits128_py)
        _cmp_scaled = jit(_cmp_scaled_py)
        _upper_midpoint_cmp = jit(_upper_midpoint_cmp_py)
        _two_product = jit(_two_product_py)
        _correctly_rounded = jit(_correctly_rounded_py)
        _kernel = jit(_scan)
    return _kernel


# --- exact decimal -> float64 for significands up to 18 digits (the shortest round-trip text of a float64
# has up to 17): a first guess from float arithmetic, then moved to the float64 whose rounding interval holds
# the decimal, judged by exact 128-bit integer comparisons with the interval's midpoints (ties to even).
_mul128 = _shl128 = _bits128 = _cmp_scaled = _upper_midpoint_cmp = _correctly_rounded = _two_product = None
_MASK32 = 0xFFFFFFFF


def _mul128_py(a, b):
    """a * b of two uint64 as (hi, lo)."""
    m32 = np.uint64(_MASK32)
    s32 = np.uint64(32)
    a0, a1, b0, b1 = a & m32, a >> s32, b & m32, b >> s32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> s32) + (p01 & m32) + (p10 & m32)
    lo = (p00 & m32) | ((mid & m32) << s32)
    hi = p11 + (p01 >> s32) + (p10 >> s32) + (mid >> s32)
    return hi, lo


def _shl128_py(hi, lo, s):
    """(hi, lo) << s for 0 <= s < 128 (bits shifted out are lost: callers check the bit length first)."""
    if s == 0:
        return hi, lo
    if s >= 64:
        return lo << np.uint64(s - 64), np.uint64(0)
    return (hi << np.uint64(s)) | (lo >> np.uint64(64 - s)), lo << np.uint64(s)


def _bits128_py(hi, lo):
    """An upper bound (exact or one more) of the bit length of (hi, lo)."""
    if hi != 0:
        return math.frexp(float(hi))[1] + 64
    if lo != 0:
        return math.frexp(float(lo))[1]
    return 0


def _cmp_scaled_py(a_hi, a_lo, b_hi, b_lo, shift):
    """Sign of a * 2**shift - b, or 2 when that does not fit 127 bits."""
    if shift >= 0:
        if _bits128(a_hi, a_lo) + shift > 127:
            return 2
        a_hi, a_lo = _shl128(a_hi, a_lo, shift)
    else:
        if _bits128(b_hi, b_lo) - shift > 127:
            return 2
        b_hi, b_lo = _shl128(b_hi, b_lo, -shift)
    if a_hi != b_hi:
        return 1 if a_hi > b_hi else -1
    if a_lo != b_lo:
        return 1 if a_lo > b_lo else -1
    return 0


def _upper_midpoint_cmp_py(m, q, x, pow5):
    """Sign of m * 10**q - (x + ulp(x)/2) for a positive normal float64 x; 2 if out of range."""
    f, e = math.frexp(x)
    big_m = np.uint64(f * 9007199254740992.0)  # the 53-bit integer significand: x = M * 2**(e - 53)
    two_m1 = big_m * np.uint64(2) + np.uint64(1)
    if q >= 0:
        a_hi, a_lo = _mul128(np.uint64(m), pow5[q])
        b_hi, b_lo = np.uint64(0), two_m1
    else:
        a_hi, a_lo = np.uint64(0), np.uint64(m)
        b_hi, b_lo = _mul128(two_m1, pow5[-q])
    # m 5^q 2^q  vs  (2M+1) 2^(e-54)
    return _cmp_scaled(a_hi, a_lo, b_hi, b_lo, q - (e - 54))


def _two_product_py(a, b):
    """(p, e) with p = fl(a b) and p + e = a b exactly (Dekker, with Veltkamp's splitting)."""
    p = a * b
    c = 134217729.0 * a
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _correctly_rounded_py(m, q, pow5):
    """The float64 nearest to m * 10**q (m > 0, m < 10**18, |q| <= 27: 5**27 < 2**64), or -1.0 when this
    cannot decide (a product beyond 127 bits, a subnormal or overflowing result)."""
    x = m * 10.0 ** q if q >= 0 else m / 10.0 ** (-q)
    if not (2.2250738585072014e-308 < x < 1.7e308):
        return -1.0
    if -22 <= q < 0:
        # usual case first: the residual m - x 10^k in double-double (m = mh + ml exactly, 10^k exact,
        # x 10^k exact by Dekker's product) moves x to the nearest float64 and says by how much the decimal
        # clears the rounding boundaries; only a decimal within 1e-7 ulp of a midpoint needs the exact test
        p10 = 10.0 ** (-q)
        mh = float(m)
        ml = float(m - np.int64(mh))
        for _ in range(2):
            hi, lo = _two_product(x, p10)
            num = ((mh - hi) - lo) + ml  # = (decimal - x) * 10^k, to ~1e-16 of itself
            f, e = math.frexp(x)
            r = num / (math.ldexp(1.0, e - 53) * p10)  # in ulps of x
            if abs(r) < 0.4999999 and f != 0.5:
                return x
            x = x + num / p10
    for _ in range(4):
        c = _upper_midpoint_cmp(m, q, x, pow5)
        if c == 2:
            return -1.0
        if c > 0:
            x = np.nextafter(x, np.inf)
            continue
        if c == 0:  # halfway: to the even significand
            return x if int(math.frexp(x)[0] * 9007199254740992.0) % 2 == 0 else np.nextafter(x, np.inf)
        below = np.nextafter(x, 0.0)
        if below < 2.2250738585072014e-308:
            return -1.0
        c = _upper_midpoint_cmp(m, q, below, pow5)
        if c == 2:
            return -1.0
        if c < 0:
            x = below
            continue
        if c == 0:
            return x if int(math.frexp(x)[0] * 9007199254740992.0) % 2 == 0 else below
        return x
    return -1.0


def _scan(buf, ncols, utc, minutes, seconds, values, line_out, hard):
    pow10 = np.empty(23)
    p = 1.0
    for k in range(23):
        pow10[k] = p
        p *= 10.0
    pow5 = np.empty(28, np.uint64)
    p5 = np.uint64(1)
    for k in range(28):
        pow5[k] = p5
        p5 *= np.uint64(5)
    days_in_month = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    day0 = 10957  # 2000-01-01 in days since 1970-01-01
    sec_limit = 61 if utc else 60
    n_buf = buf.size
    pos = 0
    row = 0
    line = -1
    n_hard = 0
    max_digits = 0
    first_doy = False
    prev_min = -(1 << 62)
    prev_sec = 0.0
    while pos < n_buf:
        line += 1
        # one line: [pos, end)
        end = pos
        while end < n_buf and buf[end] != 10:
            end += 1
        nxt = end + 1
        # skip leading blanks (space, tab, CR, FF, VT)
        i = pos
        while i < end and (buf[i] == 32 or (9 <= buf[i] <= 13)):
            i += 1
        if i == end:
            pos = nxt
            continue
        # --- epoch token
        e0 = i
        while i < end and not (buf[i] == 32 or (9 <= buf[i] <= 13)):
            i += 1
        e1 = i
        ln = e1 - e0
        if ln < 17:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        doy_form = buf[e0 + 4] == 45 and buf[e0 + 7] != 45  # '-' at 4 and not at 7
        shift = -2 if doy_form else 0
        if ln < 19 + shift:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        ok = True
        for q in (0, 1, 2, 3):
            c = buf[e0 + q]
            ok &= 48 <= c <= 57
        if doy_form:
            for q in (5, 6, 7):
                c = buf[e0 + q]
                ok &= 48 <= c <= 57
        else:
            for q in (5, 6, 8, 9):
                c = buf[e0 + q]
                ok &= 48 <= c <= 57
            ok &= buf[e0 + 7] == 45
        for q in (11, 12, 14, 15, 17, 18):
            c = buf[e0 + q + shift]
            ok &= 48 <= c <= 57
        ok &= buf[e0 + 4] == 45 and buf[e0 + 10 + shift] == 84 and buf[e0 + 13 + shift] == 58 \
            and buf[e0 + 16 + shift] == 58
        if not ok:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        # tail: [.digits][Z]
        t = e0 + 19 + shift
        frac = 0
        nd = 0
        if t < e1 and buf[t] == 46:
            t += 1
            while t < e1 and 48 <= buf[t] <= 57:
                frac = frac * 10 + (buf[t] - 48)
                nd += 1
                t += 1
                if nd > MAX_FRACTION_DIGITS:
                    return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        if t < e1 and buf[t] == 90:
            t += 1
        if t != e1:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        year = (buf[e0] - 48) * 1000 + (buf[e0 + 1] - 48) * 100 + (buf[e0 + 2] - 48) * 10 + (buf[e0 + 3] - 48)
        leap = (year % 4 == 0) and ((year % 100 != 0) or (year % 400 == 0))
        if doy_form:
            dn = (buf[e0 + 5] - 48) * 100 + (buf[e0 + 6] - 48) * 10 + (buf[e0 + 7] - 48)
            if dn < 1 or dn > 365 + leap:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            cy, cm, cd = year, 1, dn
        else:
            month = (buf[e0 + 5] - 48) * 10 + (buf[e0 + 6] - 48)
            day = (buf[e0 + 8] - 48) * 10 + (buf[e0 + 9] - 48)
            if month < 1 or month > 12:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            dim = days_in_month[month - 1] + (1 if (month == 2 and leap) else 0)
            if day < 1 or day > dim:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            cy, cm, cd = year, month, day
        # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
        cy -= 1 if cm <= 2 else 0
        era = (cy if cy >= 0 else cy - 399) // 400
        yoe = cy - era * 400
        doy0 = (153 * (cm - 3 if cm > 2 else cm + 9) + 2) // 5 + cd - 1
        days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy0 - 719468 - day0
        hour = (buf[e0 + 11 + shift] - 48) * 10 + (buf[e0 + 12 + shift] - 48)
        minute = (buf[e0 + 14 + shift] - 48) * 10 + (buf[e0 + 15 + shift] - 48)
        sec = (buf[e0 + 17 + shift] - 48) * 10 + (buf[e0 + 18 + shift] - 48)
        if hour > 23 or minute > 59 or sec >= sec_limit:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        mins = days * 1440 + hour * 60 + minute
        s = sec + (frac / pow10[nd] if nd > 0 else 0.0)
        if row > 0 and not (mins > prev_min or (mins == prev_min and s > prev_sec)):
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard  # order: the line reader says which
        # --- numbers
        col = 0
        while True:
            while i < end and (buf[i] == 32 or (9 <= buf[i] <= 13)):
                i += 1
            if i == end:
                break
            if col >= 9:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            t0 = i
            neg = False
            if buf[i] == 43 or buf[i] == 45:
                neg = buf[i] == 45
                i += 1
            mant = 0
            sig = 0
            ndig = 0
            dexp = 0
            while i < end and 48 <= buf[i] <= 57:
                ndig += 1
                if mant != 0 or buf[i] != 48:
                    if sig < 18:
                        mant = mant * 10 + (buf[i] - 48)
                    else:
                        dexp += 1
                    sig += 1
                i += 1
            if i < end and buf[i] == 46:
                i += 1
                while i < end and 48 <= buf[i] <= 57:
                    ndig += 1
                    if mant != 0 or buf[i] != 48:
                        if sig < 18:
                            mant = mant * 10 + (buf[i] - 48)
                            dexp -= 1
                        sig += 1
                    else:
                        dexp -= 1
                    i += 1
            if ndig == 0:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            if i < end and (buf[i] == 101 or buf[i] == 69):
                i += 1
                eneg = False
                if i < end and (buf[i] == 43 or buf[i] == 45):
                    eneg = buf[i] == 45
                    i += 1
                ed = 0
                ex = 0
                while i < end and 48 <= buf[i] <= 57:
                    if ex < 100000:
                        ex = ex * 10 + (buf[i] - 48)
                    ed += 1
                    i += 1
                if ed == 0:
                    return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
                dexp += -ex if eneg else ex
            if i < end and not (buf[i] == 32 or (9 <= buf[i] <= 13)):
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            if mant == 0:
                v = 0.0
            elif sig <= 18 and mant < 9007199254740992 and -22 <= dexp <= 22:
                v = mant / pow10[-dexp] if dexp < 0 else mant * pow10[dexp]
            else:
                v = _correctly_rounded(mant, dexp, pow5) if sig <= 18 and -27 <= dexp <= 27 else -1.0
            if v < 0.0:  # left to Python's float
                v = 0.0
                if n_hard < hard.shape[0]:
                    hard[n_hard, 0] = row
                    hard[n_hard, 1] = col
                    hard[n_hard, 2] = t0
                    hard[n_hard, 3] = i
                n_hard += 1
            values[row, col] = -v if neg else v
            col += 1
        if ncols == 0:
            if col + 1 != 7 and col + 1 != 10:
                return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
            ncols = col + 1
        elif col + 1 != ncols:
            return IRREGULAR, row, ncols, max_digits, first_doy, n_hard
        if row == 0:
            first_doy = doy_form
        if nd > max_digits:
            max_digits = nd
        minutes[row] = mins
        seconds[row] = s
        line_out[row] = line
        prev_min, prev_sec = mins, s
        row += 1
        pos = nxt
    return OK, row, ncols, max_digits, first_doy, n_hard


if __name__ == "__main__":  # python -m marsview.io.oem_scan: fill numba's cache (done once by ./run)
    warm_up()
