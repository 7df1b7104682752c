"""Bulk scan of OEM data lines: one compiled pass over the bytes of a run of data lines (numba).

``scan_run`` reads the ``epoch X Y Z X_DOT Y_DOT Z_DOT [X_DDOT Y_DDOT Z_DDOT]`` lines of a buffer from a start
offset up to the first line that is not a data line (a keyword, COMMENT: the caller's line walk takes over
there), straight into the caller's columns: the epoch fields (whole minutes since 2000-01-01T00:00 of the
file's time scale, seconds of the minute, as ``kvn.EpochArray`` keeps them), the float64 states and
accelerations, and each row's line number, without a Python object per line or per number. That is what
reads a million-line OEM in well under a second.

It only accepts what it can read *exactly as the line-by-line reader would*:
- epochs ``YYYY-MM-DDThh:mm:ss[.f][Z]`` and ``YYYY-DDDThh:mm:ss[.f][Z]`` (fraction up to 15 digits), fields in
  range (the same checks as ``kvn.EpochArray.parse``), strictly increasing;
- numbers of the CCSDS form ``[+-]digits[.digits][(e|E)[+-]digits]``, converted to the nearest float64 (what
  Python's ``float(text)`` gives, bit for bit). A significand below 2**53 with a decimal exponent within
  +-22 takes Clinger's fast path (both operands exact, so one correctly rounded division or product). Any
  other significand of up to 18 digits (the shortest round-trip text of a float64 has up to 17) goes
  through the Eisel-Lemire algorithm (Go's strconv, fast_float): the significand times a 128-bit truncated
  power of ten, widened to 192 bits where the truncation could matter, which either proves the rounding
  or gives up (a decimal within about 2**-64 ulp of a halfway point); then the older certified path
  (a double-double residual, exact 128-bit comparisons with the rounding boundaries); what neither
  decides -- more than 18 significant digits, subnormal or overflowing values -- is listed in ``hard``
  and converted with ``float``.
Anything else -- a wrong field count, a character outside the number syntax, an epoch out of range or out of
order, text that is not ASCII -- stops the scan with status IRREGULAR, and the caller reads those lines
through the line-by-line reader, which reports the exact ``file:line: keyword`` error (or accepts a valid
form this scan does not handle).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

log = logging.getLogger(__name__)

OK, IRREGULAR, AT_KEYWORD = 0, 1, 2
"""scan_run's status: the end of the buffer reached; something for the line reader; a non-data line reached."""
MAX_FRACTION_DIGITS = 15
MIN_LINES = 20_000
"""Files shorter than this are read line by line unless numba is already loaded (importing it costs ~1 s)."""
POW10_MIN, POW10_MAX = -342, 308
"""The decimal exponents of the Eisel-Lemire table (beyond them a float64 significand of up to 18 digits
is subnormal, zero or infinite: Python's float decides)."""
_kernel = None
_tables = None


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


SPLIT_BYTES = 256 << 10
"""Runs longer than twice this are scanned as two halves at once (the second in a worker thread: the kernel
releases the GIL) when a core is idle."""
_worker = None
_thread_state = threading.local()
_init_lock = threading.RLock()
"""Guards the one-time set-up (kernel, tables, worker): files may be read in several threads at once."""


def scan_run(buf: np.ndarray, pos: int, ncols: int, utc: bool, line0: int, previous, minutes, seconds, states,
             accelerations, lines):
    """Scan the data lines of BUF (uint8 text of whole lines; blank lines allowed) from offset POS, with NCOLS
    fields per line (7 or 10; 0: from the first line), into row 0.. of the output columns (MINUTES,
    SECONDS, STATES (k, 6), ACCELERATIONS (k, 3) or (0, 3), LINES: the line number of each row, LINE0 being
    that of the line at POS); they need room for every line from POS. PREVIOUS: the (minutes, seconds) key
    of the row before, or None.

    Returns (status, end, line_count, rows, ncols, max_fraction_digits, first_is_doy, hard): END is the
    offset of the non-data line that stopped the scan (AT_KEYWORD) or len(BUF) (OK), LINE_COUNT the lines
    consumed up to END; ``hard`` (k, 4) rows of (row, column, start, stop) are numbers to convert with
    ``float``. On IRREGULAR nothing is valid: the caller must read the run line by line.
    """
    kernel = _get_kernel()
    prev_min, prev_sec = (-(1 << 62), 0.0) if previous is None else (int(previous[0]), float(previous[1]))
    outputs = (minutes, seconds, states, accelerations, lines)
    cut = _split_point(buf, pos) if ncols else -1
    if cut < 0:
        return _scan_part(kernel, buf, pos, buf.size, ncols, utc, line0, prev_min, prev_sec, outputs, 0)
    # two halves at once: the second into the rows after every line of the first (blank lines leave a gap,
    # closed below), its first epoch checked against the first half's last afterwards
    first_lines = count_newlines(buf[pos:cut])
    second = _get_worker().submit(_scan_part, kernel, buf, cut, buf.size, ncols, utc, line0 + first_lines,
                                  -(1 << 62), 0.0, outputs, first_lines)
    head = _scan_part(kernel, buf, pos, cut, ncols, utc, line0, prev_min, prev_sec, outputs, 0)
    tail = second.result()
    status, end, count, k, ncols, digits, doy, hard = head
    if status != OK:  # IRREGULAR, or a keyword line in the first half: the second half does not count
        return head
    t_status, t_end, t_count, t_k, _, t_digits, _, t_hard = tail
    if t_status == IRREGULAR:
        return tail
    if t_k:
        if k and not (minutes[first_lines] > minutes[k - 1]
                      or (minutes[first_lines] == minutes[k - 1] and seconds[first_lines] > seconds[k - 1])):
            return (IRREGULAR,) + tail[1:]  # out of order across the halves: the line reader says where
        if first_lines != k:
            for column in outputs:
                if len(column):
                    column[k:k + t_k] = column[first_lines:first_lines + t_k]
    if len(t_hard):
        t_hard = t_hard.copy()
        t_hard[:, 0] += k
        hard = np.concatenate([hard, t_hard])
    return t_status, t_end, count + t_count, k + t_k, ncols, max(digits, t_digits), doy, hard


def _split_point(buf, pos):
    """Where to cut BUF[pos:] in two at a line start, or -1 to scan it in one piece: short runs, a single
    core, and a thread that reads one of several files at once (``one_core``)."""
    if buf.size - pos < 2 * SPLIT_BYTES or getattr(_thread_state, "one_core", False) or not _second_core():
        return -1
    mid = pos + (buf.size - pos) // 2
    newline = np.flatnonzero(buf[mid:mid + 4096] == 10)
    return mid + int(newline[0]) + 1 if newline.size else -1


def _second_core() -> bool:
    """Whether a second core may take half a run. Any second core in the affinity mask: the load average
    counts this process's own thread (on 2 cores, marsview alone reads as load ~1), and a half that has to
    queue behind another process costs little -- a 10,000-line OEM scans 30 % faster with a core idle and
    5 % slower with the other core saturated (2-core machine)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores >= 2


def count_newlines(data, step: int = 1 << 18) -> int:
    """The number of newlines in DATA (bytes or a uint8 array): numpy ~5x bytes.count, in steps through one
    scratch array (a whole-file boolean temporary costs more in fresh pages than the count itself)."""
    a = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    if a.size <= step:
        return int(np.count_nonzero(a == 10))
    scratch = np.empty(step, bool)
    n = 0
    for k in range(0, a.size, step):
        part = a[k:k + step]
        n += int(np.count_nonzero(np.equal(part, 10, out=scratch[:part.size])))
    return n


@contextmanager
def one_core():
    """Scan every run in one piece in this thread (the other cores read other files: io.formats.read_in_order)."""
    before = getattr(_thread_state, "one_core", False)
    _thread_state.one_core = True
    try:
        yield
    finally:
        _thread_state.one_core = before


def _get_worker():
    global _worker
    with _init_lock:
        if _worker is None:
            from concurrent.futures import ThreadPoolExecutor

            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oem-scan")
    return _worker


def _scan_part(kernel, buf, pos, stop, ncols, utc, line0, prev_min, prev_sec, outputs, row0):
    """One kernel run over buf[pos:stop] into the output columns from row ROW0 (hard rows from row 0)."""
    minutes, seconds, states, accelerations, lines = (c[row0:] for c in outputs)
    hard = np.empty((64, 4), np.int64)
    while True:
        status, end, count, rows, ncols_out, digits, doy, n_hard = kernel(
            buf, pos, stop, ncols, utc, line0, prev_min, prev_sec, minutes, seconds, states, accelerations, lines,
            hard, _tables)
        if n_hard <= hard.shape[0]:
            break
        hard = np.empty((n_hard, 4), np.int64)  # rare: many numbers for Python's float; scan again with room
    return (int(status), int(end), int(count), int(rows), int(ncols_out), int(digits), bool(doy),
            hard[:n_hard])


def scan_data_lines(buf: np.ndarray, ncols: int, utc: bool):
    """Scan the whole of BUF (data lines only) into new arrays (tests, warm-up).

    Returns (status, n, ncols, max_fraction_digits, first_is_doy, line, minutes, seconds, values, hard):
    ``line`` the 0-based line index (in BUF) of each of the n data rows, ``values`` (n, ncols - 1);
    ``hard`` (k, 4) rows of (row, column, start, stop) for numbers to convert with ``float``. A status other
    than OK means the caller must re-read BUF line by line.
    """
    n_max = count_newlines(buf) + 1
    minutes = np.empty(n_max, np.int64)
    seconds = np.empty(n_max)
    states = np.empty((n_max, 6))
    acc = np.empty((n_max, 3))
    line = np.empty(n_max, np.int64)
    status, end, _, n, ncols_out, digits, doy, hard = scan_run(buf, 0, ncols, utc, 0, None, minutes, seconds, states,
                                                                acc, line)
    if status == AT_KEYWORD:
        status = IRREGULAR
    values = np.hstack([states[:n], acc[:n]])[:, :max(ncols_out - 1, 0)]
    return status, n, ncols_out, digits, doy, line[:n], minutes[:n], seconds[:n], values, hard


def _pow10_table():
    """128-bit truncations of 10**q, q in [POW10_MIN, POW10_MAX], normalized to a set top bit, as (hi, lo)
    uint64 arrays (the Eisel-Lemire table, computed exactly with Python integers)."""
    hi = np.empty(POW10_MAX - POW10_MIN + 1, np.uint64)
    lo = np.empty_like(hi)
    for k, q in enumerate(range(POW10_MIN, POW10_MAX + 1)):
        if q >= 0:
            v = 10 ** q
            b = v.bit_length()
            m = v >> (b - 128) if b > 128 else v << (128 - b)
        else:
            d = 10 ** -q
            m = (1 << (d.bit_length() + 127)) // d  # in (2**127, 2**128): 10**-q is no power of two
        assert m.bit_length() == 128
        hi[k], lo[k] = m >> 64, m & ((1 << 64) - 1)
    return hi, lo


def _umul128_intrinsic():
    """a * b of two uint64 as (hi, lo): one 64x64->128-bit multiply (an LLVM i128 product)."""
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def umul128(typingctx, a, b):
        if a != types.uint64 or b != types.uint64:
            return None
        signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

        def codegen(context, builder, sig, args):
            wide = ir.IntType(128)
            product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
            hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
            lo = builder.trunc(product, ir.IntType(64))
            return context.make_tuple(builder, sig.return_type, (hi, lo))

        return signature, codegen

    return umul128


def _load8_intrinsic():
    """buf[i:i+8] of a uint8 array as one little-endian uint64 (an unaligned 8-byte load; the caller
    checks i + 8 <= buf.size)."""
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def load8(typingctx, buf, i):
        if not (isinstance(buf, types.Array) and buf.dtype == types.uint8 and isinstance(i, types.Integer)):
            return None
        signature = types.uint64(buf, i)

        def codegen(context, builder, sig, args):
            array = context.make_array(sig.args[0])(context, builder, args[0])
            ptr = builder.gep(array.data, [args[1]])
            word = builder.bitcast(ptr, ir.IntType(64).as_pointer())
            return builder.load(word, align=1)

        return signature, codegen

    return load8


def _leading_zeros_intrinsic():
    from numba.cpython.unsafe.numbers import leading_zeros

    return leading_zeros


def _trailing_zeros_intrinsic():
    from numba.cpython.unsafe.numbers import trailing_zeros

    return trailing_zeros


def _get_kernel():
    if _kernel is None:
        with _init_lock:
            if _kernel is None:
                _compile_kernel()
    return _kernel


def _compile_kernel():
    global _kernel, _tables, _mul128, _shl128, _bits128, _cmp_scaled, _upper_midpoint_cmp, _correctly_rounded
    global _two_product, _eisel_lemire, _is_blank, _leading_zeros, _load8, _eight_digits_value, _trailing_zeros
    global _digit_prefix, _digits_value
    import numba

    def jit(func, **options):
        try:
            return numba.njit(cache=True, nogil=True, **options)(func)
        except RuntimeError as exc:  # no writable cache location (read-only install)
            log.info("numba cache unavailable, compiling %s without it: %s", func.__name__, exc)
            return numba.njit(cache=False, nogil=True, **options)(func)

    # the helpers become module globals before the kernels that call them are compiled
    _mul128 = _umul128_intrinsic()
    _leading_zeros = _leading_zeros_intrinsic()
    _shl128, _bits128 = jit(_shl128_py), jit(_bits128_py)
    _load8, _eight_digits_value = _load8_intrinsic(), jit(_eight_digits_value_py, inline="always")
    _trailing_zeros = _trailing_zeros_intrinsic()
    _digit_prefix = jit(_digit_prefix_py, inline="always")
    _digits_value = jit(_digits_value_py, inline="always")
    _cmp_scaled = jit(_cmp_scaled_py)
    _upper_midpoint_cmp = jit(_upper_midpoint_cmp_py)
    _two_product = jit(_two_product_py)
    _correctly_rounded = jit(_correctly_rounded_py)
    _eisel_lemire = jit(_eisel_lemire_py, inline="always")
    _is_blank = jit(_is_blank_py, inline="always")
    pow10 = np.array([float(10 ** k) for k in range(23)])  # exact: 5**22 < 2**53
    pow5 = np.array([5 ** k for k in range(28)], np.uint64)
    pow10_int = np.array([10 ** k for k in range(9)], np.int64)  # an array: a tuple indexed at run time is slower
    _tables = (pow10, pow5, *_pow10_table(), pow10_int)
    _kernel = jit(_scan)


# --- exact decimal -> float64 for significands up to 18 digits (the shortest round-trip text of a float64
# has up to 17): a first guess from float arithmetic, then moved to the float64 whose rounding interval holds
# the decimal, judged by exact 128-bit integer comparisons with the interval's midpoints (ties to even).
_mul128 = _shl128 = _bits128 = _cmp_scaled = _upper_midpoint_cmp = _correctly_rounded = _two_product = None
_eisel_lemire = _is_blank = _leading_zeros = _load8 = _eight_digits_value = None
_trailing_zeros = _digit_prefix = _digits_value = None


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


def _eisel_lemire_py(m, q, tab_hi, tab_lo):
    """The float64 nearest to m * 10**q (0 < m < 2**63) by the Eisel-Lemire algorithm (as in Go's strconv and
    fast_float): m times the 128-bit truncated 10**q, widened to 192 bits where the truncation could matter;
    -1.0 where the product cannot decide (near a halfway case), a subnormal or an overflowing result."""
    if q < POW10_MIN or q > POW10_MAX:
        return -1.0
    clz = np.int64(_leading_zeros(np.uint64(m)))
    man = np.uint64(m) << np.uint64(clz)
    exp2 = ((217706 * q) >> 16) + 64 + 1023 - clz
    k = q - POW10_MIN
    x_hi, x_lo = _mul128(man, tab_hi[k])
    mask9 = np.uint64(0x1FF)
    if (x_hi & mask9) == mask9 and x_lo + man < man:
        y_hi, y_lo = _mul128(man, tab_lo[k])
        merged_hi, merged_lo = x_hi, x_lo + y_hi
        if merged_lo < x_lo:
            merged_hi += np.uint64(1)
        if (merged_hi & mask9) == mask9 and merged_lo + np.uint64(1) == np.uint64(0) and y_lo + man < man:
            return -1.0
        x_hi, x_lo = merged_hi, merged_lo
    msb = x_hi >> np.uint64(63)
    mant = x_hi >> (msb + np.uint64(9))
    exp2 -= 1 ^ np.int64(msb)
    if x_lo == np.uint64(0) and (x_hi & mask9) == np.uint64(0) and (mant & np.uint64(3)) == np.uint64(1):
        return -1.0  # exactly halfway as far as 128 bits tell
    mant += mant & np.uint64(1)
    mant >>= np.uint64(1)
    if (mant >> np.uint64(53)) > np.uint64(0):
        mant >>= np.uint64(1)
        exp2 += 1
    if exp2 <= 0 or exp2 >= 0x7FF:
        return -1.0
    bits = (np.uint64(exp2) << np.uint64(52)) | (mant & np.uint64(0xFFFFFFFFFFFFF))
    return np.uint64(bits).view(np.float64)


def _digit_prefix_py(v):
    """How many of the 8 characters packed in V (the first in the low byte) are ASCII digits before the first
    one that is not (SWAR: per byte, b < '0', b > '9' or b >= 0x80 sets its top bit; no carry crosses a
    byte as the top bits are cleared first)."""
    x = v & np.uint64(0x7F7F7F7F7F7F7F7F)
    other = (~(x + np.uint64(0x5050505050505050)) | (x + np.uint64(0x4646464646464646)) | v) \
        & np.uint64(0x8080808080808080)
    if other == np.uint64(0):
        return 8
    return np.int64(_trailing_zeros(other)) >> 3


def _digits_value_py(v, n):
    """The integer written by the first N (1..8) digit characters packed in V."""
    if n < 8:  # move them to the top, '0's below: the 8-digit conversion then reads 0...0d1..dn
        shift = np.uint64(8 * (8 - n))
        v = (v << shift) | (np.uint64(0x3030303030303030) >> (np.uint64(64) - shift))
    return _eight_digits_value(v)


def _eight_digits_value_py(v):
    """The integer written by 8 ASCII digits packed in V (first digit most significant), in 3 multiplies."""
    mask = np.uint64(0x000000FF000000FF)
    v = v - np.uint64(0x3030303030303030)
    v = v * np.uint64(10) + (v >> np.uint64(8))
    v = ((v & mask) * np.uint64(0x000F424000000064)
         + ((v >> np.uint64(16)) & mask) * np.uint64(0x0000271000000001)) >> np.uint64(32)
    return np.int64(v & np.uint64(0xFFFFFFFF))


def _is_blank_py(c):
    """Space, tab, vertical tab, form feed, carriage return: what separates fields (a newline ends a line)."""
    return c == 32 or c == 9 or c == 11 or c == 12 or c == 13


def _scan(buf, pos, stop, ncols, utc, line0, prev_min, prev_sec, minutes, seconds, states, acc, line_out, hard,
          tables):
    pow10, pow5, tab_hi, tab_lo, pow10_int = tables
    days_in_month = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    day0 = 10957  # 2000-01-01 in days since 1970-01-01
    sec_limit = 61 if utc else 60
    capacity = minutes.shape[0]
    row = 0
    line = line0
    n_hard = 0
    max_digits = 0
    first_doy = False
    have_prev = prev_min > -(1 << 62)
    date_at = -1  # start of the last epoch whose date was converted, and its day count
    date_days = 0
    date_doy = False
    while pos < stop:
        i = pos
        while i < stop and _is_blank(buf[i]):
            i += 1
        if i == stop:  # blanks after the last newline
            pos = stop
            break
        c = buf[i]
        if c == 10:  # a blank line
            line += 1
            pos = i + 1
            continue
        if c < 48 or c > 57:
            if c >= 128 or c < 32:  # Unicode or control text: the line reader decides where the run ends
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            return AT_KEYWORD, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        if row >= capacity:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        # --- epoch token: fixed positions (no separator can sit on one), then the tail up to a separator
        e0 = i
        if e0 + 17 > stop:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        doy_form = buf[e0 + 4] == 45 and buf[e0 + 7] != 45  # '-' at 4 and not at 7
        shift = -2 if doy_form else 0
        if e0 + 19 + shift > stop:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        # the date: converted once per run of lines that write the same one
        same_date = date_at >= 0 and doy_form == date_doy and _load8(buf, e0) == _load8(buf, date_at)
        if same_date and not doy_form:
            same_date = buf[e0 + 8] == buf[date_at + 8] and buf[e0 + 9] == buf[date_at + 9]
        if same_date:
            days = date_days
        else:
            ok = buf[e0 + 4] == 45
            for q in range(4):
                ok &= 48 <= buf[e0 + q] <= 57
            if doy_form:
                for q in range(5, 8):
                    ok &= 48 <= buf[e0 + q] <= 57
            else:
                ok &= buf[e0 + 7] == 45
                ok &= 48 <= buf[e0 + 5] <= 57 and 48 <= buf[e0 + 6] <= 57
                ok &= 48 <= buf[e0 + 8] <= 57 and 48 <= buf[e0 + 9] <= 57
            if not ok:
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            year = (buf[e0] - 48) * 1000 + (buf[e0 + 1] - 48) * 100 + (buf[e0 + 2] - 48) * 10 + (buf[e0 + 3] - 48)
            leap = (year % 4 == 0) and ((year % 100 != 0) or (year % 400 == 0))
            if doy_form:
                dn = (buf[e0 + 5] - 48) * 100 + (buf[e0 + 6] - 48) * 10 + (buf[e0 + 7] - 48)
                if dn < 1 or dn > 365 + leap:
                    return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
                cy, cm, cd = year, 1, dn
            else:
                month = (buf[e0 + 5] - 48) * 10 + (buf[e0 + 6] - 48)
                day = (buf[e0 + 8] - 48) * 10 + (buf[e0 + 9] - 48)
                if month < 1 or month > 12:
                    return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
                dim = days_in_month[month - 1] + (1 if (month == 2 and leap) else 0)
                if day < 1 or day > dim:
                    return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
                cy, cm, cd = year, month, day
            # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
            cy -= 1 if cm <= 2 else 0
            era = (cy if cy >= 0 else cy - 399) // 400
            yoe = cy - era * 400
            doy0 = (153 * (cm - 3 if cm > 2 else cm + 9) + 2) // 5 + cd - 1
            days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy0 - 719468 - day0
            date_at, date_days, date_doy = e0, days, doy_form
        # the time: hh:mm:ss[.f][Z]
        ok = buf[e0 + 10 + shift] == 84 and buf[e0 + 13 + shift] == 58 and buf[e0 + 16 + shift] == 58
        for q in (11, 12, 14, 15, 17, 18):
            ok &= 48 <= buf[e0 + q + shift] <= 57
        if not ok:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        t = e0 + 19 + shift
        frac = 0
        nd = 0
        if t < stop and buf[t] == 46:
            t += 1
            if t + 8 <= stop:  # the usual 3-6 decimals in one step
                word = _load8(buf, t)
                nd = _digit_prefix(word)
                if nd > 0:
                    frac = _digits_value(word, nd)
                    t += nd
            while t < stop and 48 <= buf[t] <= 57:
                frac = frac * 10 + (buf[t] - 48)
                nd += 1
                t += 1
                if nd > MAX_FRACTION_DIGITS:
                    return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        if t < stop and buf[t] == 90:
            t += 1
        if t < stop and not (_is_blank(buf[t]) or buf[t] == 10):
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        i = t
        hour = (buf[e0 + 11 + shift] - 48) * 10 + (buf[e0 + 12 + shift] - 48)
        minute = (buf[e0 + 14 + shift] - 48) * 10 + (buf[e0 + 15 + shift] - 48)
        sec = (buf[e0 + 17 + shift] - 48) * 10 + (buf[e0 + 18 + shift] - 48)
        if hour > 23 or minute > 59 or sec >= sec_limit:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        mins = days * 1440 + hour * 60 + minute
        s = sec + (frac / pow10[nd] if nd > 0 else 0.0)
        if (row > 0 or have_prev) and not (mins > prev_min or (mins == prev_min and s > prev_sec)):
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard  # the line reader says
        # --- numbers, up to the end of the line
        col = 0
        while True:
            while i < stop and _is_blank(buf[i]):
                i += 1
            if i == stop or buf[i] == 10:
                break
            if col >= 9:
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            t0 = i
            neg = False
            if buf[i] == 43 or buf[i] == 45:
                neg = buf[i] == 45
                i += 1
            mant = 0
            sig = 0  # significant digits (from the first non-zero one)
            ndig = 0
            dexp = 0
            while i < stop and buf[i] == 48:  # leading zeros
                ndig += 1
                i += 1
            while i + 8 <= stop:  # runs of up to 8 digits at once
                word = _load8(buf, i)
                n = _digit_prefix(word)
                if n == 0 or sig + n > 18:
                    break
                mant = mant * pow10_int[n] + _digits_value(word, n)
                sig += n
                ndig += n
                i += n
                if n < 8:
                    break
            while i < stop:  # one by one: near the end of the buffer, beyond 18 digits
                d = np.int64(buf[i]) - 48
                if d < 0 or d > 9:
                    break
                ndig += 1
                if sig < 18:
                    mant = mant * 10 + d
                    if mant != 0:
                        sig += 1
                else:  # beyond 18 digits: counted only (the number goes to Python's float)
                    dexp += 1
                    sig += 1
                i += 1
            if i < stop and buf[i] == 46:
                i += 1
                if mant == 0:
                    while i < stop and buf[i] == 48:  # zeros after the point, before any other digit
                        ndig += 1
                        dexp -= 1
                        i += 1
                while i + 8 <= stop:  # a 17-digit number's decimals take two runs
                    word = _load8(buf, i)
                    n = _digit_prefix(word)
                    if n == 0 or sig + n > 18:
                        break
                    mant = mant * pow10_int[n] + _digits_value(word, n)
                    sig += n
                    ndig += n
                    dexp -= n
                    i += n
                    if n < 8:
                        break
                while i < stop:
                    d = np.int64(buf[i]) - 48
                    if d < 0 or d > 9:
                        break
                    ndig += 1
                    if sig < 18:
                        mant = mant * 10 + d
                        dexp -= 1
                        if mant != 0:
                            sig += 1
                    else:
                        sig += 1
                    i += 1
            if ndig == 0:
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            if i < stop and (buf[i] == 101 or buf[i] == 69):
                i += 1
                eneg = False
                if i < stop and (buf[i] == 43 or buf[i] == 45):
                    eneg = buf[i] == 45
                    i += 1
                ed = 0
                ex = 0
                while i < stop and 48 <= buf[i] <= 57:
                    if ex < 100000:
                        ex = ex * 10 + (buf[i] - 48)
                    ed += 1
                    i += 1
                if ed == 0:
                    return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
                dexp += -ex if eneg else ex
            if i < stop and not (_is_blank(buf[i]) or buf[i] == 10):
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            if mant == 0:
                v = 0.0
            elif sig > 18:
                v = -1.0  # more digits than an int64 holds exactly: Python's float
            elif mant < 9007199254740992 and -22 <= dexp <= 22:
                # Clinger's fast path: both operands exact, one correctly rounded operation
                v = mant / pow10[-dexp] if dexp < 0 else mant * pow10[dexp]
            else:
                v = _eisel_lemire(mant, dexp, tab_hi, tab_lo)
                if v < 0.0 and -27 <= dexp <= 27:
                    v = _correctly_rounded(mant, dexp, pow5)
            if v < 0.0:  # left to Python's float
                v = 0.0
                if n_hard < hard.shape[0]:
                    hard[n_hard, 0] = row
                    hard[n_hard, 1] = col
                    hard[n_hard, 2] = t0
                    hard[n_hard, 3] = i
                n_hard += 1
            if neg:
                v = -v
            if col < 6:
                states[row, col] = v
            elif acc.shape[0] > row:
                acc[row, col - 6] = v
            col += 1
        if ncols == 0:
            if col + 1 != 7 and (col + 1 != 10 or acc.shape[0] == 0):
                return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
            ncols = col + 1
        elif col + 1 != ncols:
            return IRREGULAR, pos, line - line0, row, ncols, max_digits, first_doy, n_hard
        if row == 0:
            first_doy = doy_form
        if nd > max_digits:
            max_digits = nd
        minutes[row] = mins
        seconds[row] = s
        line_out[row] = line
        prev_min, prev_sec = mins, s
        row += 1
        line += 1
        pos = i + 1 if i < stop else stop
    return OK, pos, line - line0, row, ncols, max_digits, first_doy, n_hard


if __name__ == "__main__":  # python -m marsview.io.oem_scan: fill numba's cache (done once by ./run)
    warm_up()
