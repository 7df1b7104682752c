"""The `marsview` dispatcher: sub-commands take their own paths; bare paths open the GUI."""

from marsview.cli import SUBCOMMANDS, build_parser


def test_subcommand_positionals_are_not_swallowed_by_the_gui_paths():
    parser = build_parser(gui_paths=False)
    args = parser.parse_args(["screen", "a.oem", "b.oem", "--format", "json"])
    assert args.command == "screen"
    assert [str(p) for p in args.paths] == ["a.oem", "b.oem"]


def test_every_contract_subcommand_is_registered():
    parser = build_parser(gui_paths=False)
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"propagate", "convert", "info", "screen", "assess", "snapshot"} <= set(sub.choices)
