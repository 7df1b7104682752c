"""The ``marsview`` command: the GUI by default, headless sub-commands otherwise.

Each sub-command lives in ``marsview/cli/<name>.py`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func`` (called with the parsed args; returns the exit code). Modules import their
heavy dependencies inside ``func`` so ``marsview --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMANDS = ("propagate", "convert", "info", "screen", "assess", "snapshot", "movie", "plan", "trend", "options",
               "watch")


def build_parser(gui_paths: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marsview",
        description="Mars fleet flight dynamics: ephemeris exchange, conjunction screening, "
        "collision probability and maneuver planning. With no sub-command, opens the GUI.",
    )
    if gui_paths:
        # only when no sub-command follows: a top-level positional would swallow the sub-command's own paths
        parser.add_argument("paths", nargs="*", help="scenario folder or ephemeris files to open in the GUI")
        parser.add_argument("--allow-outside-paths", action="store_true",
                            help="let scenario.toml name files outside its folder (otherwise the GUI asks)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"marsview.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"marsview.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv_from_process = argv is None  # the console command, not a caller in the same interpreter
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in SUBCOMMANDS and "--allow-outside-paths" in argv:  # the GUI's own flag
        rest = [a for a in argv if a != "--allow-outside-paths"]
        if not rest or (rest[0] not in SUBCOMMANDS and not rest[0].startswith("-")):
            from marsview.gui import launch_app

            return launch_app(rest, allow_outside_paths=True)
    # the GUI takes bare paths; argparse would read the first path as a sub-command name
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        from marsview.gui import launch_app

        return launch_app(argv)
    parser = build_parser(gui_paths=argv[0] not in SUBCOMMANDS)
    args = parser.parse_args(argv)
    if args.command is None:
        from marsview.gui import launch_app

        return launch_app(getattr(args, "paths", None), allow_outside_paths=args.allow_outside_paths)
    if argv_from_process:
        _exit_cleanly_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - whatever a sub-command did not expect: one line, not a traceback
        if os.environ.get("MARSVIEW_DEBUG"):
            raise
        print(f"marsview {args.command}: {_one_line(exc)} (run with MARSVIEW_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM (a batch system's or `timeout`'s stop) unwinds like an exception, so the atomic writers' finally
    blocks remove their temporary files (an SPK's can be hundreds of MB) instead of leaving them behind."""
    import signal

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MemoryError):
        text = "not enough memory for this request (use a shorter span or a longer step)"
    elif not isinstance(exc, (OSError, ValueError)):
        text = f"{type(exc).__name__}: {text}"
    return text[:300]
