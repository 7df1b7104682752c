"""Benchmark (issue 17): hostile NDM/XML through the hardened expat path. Prints JSON; never pass/fail.

    .venv/bin/python benchmarks/bench_untrusted_xml.py

For OEM, OPM and CDM: seconds to refuse a "billion laughs" document (DOCTYPE refused at line 2) and to read a
message with a 7.7 MB COMMENT made of `&amp;` (text collected in lists: linear).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))

from marsview.io import cdm, opm  # noqa: E402
from marsview.io.cdm import read_cdm  # noqa: E402
from marsview.io.errors import ParseError  # noqa: E402
from marsview.io.oem import read_oem  # noqa: E402
from marsview.io.opm import read_opm  # noqa: E402
from test_bad_input import CDM, OPM  # noqa: E402
from test_xml import OEM_XML  # noqa: E402

READERS = {"oem": read_oem, "opm": read_opm, "cdm": read_cdm}
LAUGHS = "<!DOCTYPE x [\n <!ENTITY lol \"lol\">\n" + "".join(
    f' <!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">\n' for i in range(1, 10)) + "]>\n"


def main() -> None:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for kind, reader in READERS.items():
            if kind == "oem":
                text = OEM_XML
            else:
                src = tmp / f"s.{kind}"
                src.write_text({"opm": OPM, "cdm": CDM}[kind])
                msg = reader(src)
                text = (opm.opm_to_xml_bytes if kind == "opm" else cdm.cdm_to_xml_bytes)(msg).decode()
            head, rest = text.split("\n", 1)
            laughs = tmp / f"laughs.{kind}.xml"
            laughs.write_text(head + "\n" + LAUGHS + rest.replace("<ORIGINATOR>", "<ORIGINATOR>&lol9;", 1))
            t0 = time.perf_counter()
            try:
                reader(laughs)
                refused = False
            except ParseError:
                refused = True
            t_laughs = time.perf_counter() - t0
            big = tmp / f"big.{kind}.xml"
            comment = "&amp;" * (7_700_000 // 5)
            big.write_text(text.replace("<ORIGINATOR>", f"<COMMENT>{comment}</COMMENT>\n<ORIGINATOR>", 1))
            t0 = time.perf_counter()
            reader(big)
            t_big = time.perf_counter() - t0
            out[kind] = {"billion_laughs_refused": refused, "billion_laughs_s": round(t_laughs, 4),
                         "comment_7_7MB_s": round(t_big, 3), "comment_bytes": big.stat().st_size}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
