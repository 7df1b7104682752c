#!/bin/bash
# The 3D view's frame rate on a real GPU, headless (EGL), for a machine that has Python 3.12 with numpy, scipy
# and numba but cannot reach a package index (the data-centre GPU boxes this project is sometimes lent).
#
#   bash benchmarks/gpu_fps.sh prepare   # here, with the package registries: wheels into .whl/, EGL libs into .gl/
#   bash benchmarks/gpu_fps.sh run       # there, in the repo root (carry .whl and .gl): JSON to stdout and $OUT
#
# "run" installs the carried wheels into /tmp/site (nothing of the machine's own Python is changed), unpacks the
# GL loader packages, and runs bench_fps.py --backend egl at 1920x1080 (read-back and draw-only figures) and at
# 160x90 (where rasterisation is negligible: the CPU's share of a frame, i.e. the ceiling any GPU would leave).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
case "${1:-}" in
prepare)
    mkdir -p .whl .gl
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude
    grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
    # the packages the EGL path imports that the GPU image lacks (numpy, scipy, numba, kiwisolver are there)
    for spec in vispy==0.17.0 freetype-py==2.5.1 hsluv==5.0.5 pyerfa==2.0.1.5 astropy-iers-data; do
        .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
            --platform manylinux1_x86_64 --platform any -d .whl "$spec"
    done
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    apt-get $o update -qq
    (cd .gl && apt-get $o download -qq libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    du -sh .whl .gl
    ;;
run)
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    nvidia_egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    if [ -f $nvidia_egl ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$nvidia_egl; fi
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD EGL_PLATFORM=surfaceless MARSVIEW_CACHE_DIR=/tmp/mv-cache PYTHONUNBUFFERED=1
    out=${OUT:-/tmp}
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
    $PY benchmarks/bench_fps.py --backend egl --seconds 8 | tee "$out/fps_egl_1080p.json"
    $PY benchmarks/bench_fps.py --backend egl --seconds 6 --width 160 --height 90 --python-only | tee "$out/fps_egl_160x90.json"
    ;;
*)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
