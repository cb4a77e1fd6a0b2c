# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"""The ``receivable-collection`` command line, for admins' scripts.

Dispatcher only: the options every command shares (the Tryton configuration
and the database, the demo's by default) and one subcommand per module, each
registered by the module's ``cli.add_parser``.  A command reports a problem by
raising ``CommandError``: each line of its message is printed as one error
line on stderr and the exit status is 1."""
import argparse
import importlib
import sys
from pathlib import Path

PROG = 'receivable-collection'
ROOT = Path(__file__).resolve().parent.parent
# setup/demo writes the configuration of the checkout's demo here
DEFAULT_CONFIG = ROOT / 'var' / 'trytond.conf'
DEFAULT_DATABASE = 'demo'
# subcommand -> module providing add_parser(subparsers, name, common)
COMMANDS = {
    'nets': 'receivable_collection_nets.cli',
    }


class CommandError(Exception):
    "A problem that stops a command; one problem per line of the message."

    @property
    def lines(self):
        "The problems, one per line."
        return [line for line in str(self).splitlines() if line.strip()]


def _add_shared_options(parser, default):
    "Add --config and --database; default=SUPPRESS keeps the value given earlier."
    parser.add_argument(
        '--config', type=Path, metavar='FILE',
        default=DEFAULT_CONFIG if default else argparse.SUPPRESS,
        help=f"the trytond configuration (default: the demo's, {DEFAULT_CONFIG})")
    parser.add_argument(
        '--database', '-d', metavar='NAME',
        default=DEFAULT_DATABASE if default else argparse.SUPPRESS,
        help=f"the database name (default: {DEFAULT_DATABASE})")


def build_parser():
    "The argument parser with the shared options and every module's subcommand."
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Scripted receivable collection tasks on a Tryton database.")
    _add_shared_options(parser, True)
    # the shared options are accepted after the command too
    common = argparse.ArgumentParser(add_help=False)
    _add_shared_options(common, False)
    subparsers = parser.add_subparsers(
        dest='command', metavar='COMMAND', required=True)
    for name, module in COMMANDS.items():
        importlib.import_module(module).add_parser(subparsers, name, common)
    return parser


def load_config(path):
    "Read the trytond configuration file."
    if not path.is_file():
        raise CommandError(
            f"no configuration file {path}: run setup/demo first or pass --config")
    from trytond import config
    config.update_etc(str(path))


def report(error, stream=None):
    "Print each problem of the error as one line."
    stream = stream or sys.stderr
    for line in error.lines or [type(error).__name__]:
        print(f"{PROG}: error: {line}", file=stream)


def main(argv=None):
    "Run the command line; return the exit status."
    args = build_parser().parse_args(argv)
    try:
        load_config(args.config)
        return args.func(args) or 0
    except CommandError as error:
        report(error)
        return 1


if __name__ == '__main__':
    sys.exit(main())
