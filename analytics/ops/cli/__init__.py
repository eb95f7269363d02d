"""Command line: ``python -m analytics COMMAND`` (``--help`` lists them).

One module per group of commands, each command's options beside its handler (``add_NAME``
then ``cmd_NAME``), defaults taken from the analytics' own constants. argparse, not click:
it is in the standard library, the commands are plain functions of the parsed arguments that
tests call directly (``main([...])``), and nothing here needs click's decorators or plugins.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from analytics.display.i18n import Labels
from analytics.ops import users
from analytics.ops.cli import accounts, analyses, churn, data, followups, report
from analytics.store.followups import FollowUpError
from analytics.store.warehouse import MissingData

GROUPS = (data, analyses, churn, report, accounts, followups)


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(prog="python -m analytics",
                                  description="SteelSight analytics from the command line.")
    out.add_argument("--url", help="warehouse URL (default: $STEELSIGHT_WAREHOUSE, "
                     ".streamlit/secrets.toml, or data/warehouse)")
    out.add_argument("--as-user", help="read with this user's scope (rows and columns)")
    sub = out.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        for add in group.COMMANDS:
            add(sub)
    return out


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The command, with bad input and bad state answered in one sentence on stderr (exit 2)
    instead of a traceback."""
    try:
        return int(args.func(args))
    except MissingData as missing:
        what = f"column {missing.column} of table {missing.table}" if missing.column \
            else f"table {missing.table}"
        print(f"the warehouse has no {what}: import it to use this command", file=sys.stderr)
    except FollowUpError as err:
        print(Labels("en")(f"fu_error_{err.code}"), file=sys.stderr)
    except users.UsersFileError as err:
        print(f"{err}: repair it, or restore it from a backup", file=sys.stderr)
    except FileNotFoundError as err:
        print(f"no such file: {err.filename or err}", file=sys.stderr)
    except duckdb.Error as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"the warehouse cannot be read ({first}); `python -m analytics versions check`",
              file=sys.stderr)
    return 2
