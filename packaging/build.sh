#!/usr/bin/env bash
# Build the one-folder desktop app into dist/marsview/ (run from anywhere).
# Target machines need these system libraries (not bundled): Mesa/libGL (libgl1, libgl1-mesa-dri, libglx-mesa0),
# libegl1, libfontconfig1 (vispy finds fontconfig with ctypes), and the xcb libraries Qt's platform plugin
# links (libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
"$PY" -m pip install -q "pyinstaller>=6.0"
[ -f "$ROOT/packaging/marsview.png" ] || "$PY" "$ROOT/packaging/make_icon.py" "$ROOT/packaging/marsview.png"
cd "$ROOT"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "${DISTPATH:-$ROOT/dist}" --workpath "${WORKPATH:-$ROOT/build/pyinstaller}" \
    packaging/marsview.spec
cp packaging/marsview.desktop "${DISTPATH:-$ROOT/dist}/marsview/"
echo "built ${DISTPATH:-$ROOT/dist}/marsview/marsview"
