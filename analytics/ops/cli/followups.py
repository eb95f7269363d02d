"""``followups list|add|done|reassign|backup``: the follow-up page's work from the command line,
under the same scope (``--as-user``) and written to the same audit log."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import date

import pandas as pd

from analytics.domain import followups as fu
from analytics.ops.cli.common import actor, add_output, scope_of, scoped_tables, write
from analytics.ops.followup_desk import Desk, desk
from analytics.store import followups as store
from analytics.store.access import Scope
from analytics.store.warehouse import Tables, open_warehouse


def _desk(args: argparse.Namespace) -> Desk:
    scope = scope_of(args)
    if not getattr(args, "as_user", None):  # the local operator, named in the audit log
        scope = dataclasses.replace(scope, user=actor(args))
    path = store.default_path(open_warehouse(args.url).root)
    return desk(store.open_store(path), scoped_tables(args), scope)


def rows_in_scope(args: argparse.Namespace) -> pd.DataFrame:
    """The follow-ups this command's user may see (for the report and the digest)."""
    return _desk(args).frame()


def rows_for(args: argparse.Namespace, tables: Tables, scope: Scope) -> pd.DataFrame:
    """The follow-ups ``scope`` may see in its scoped ``tables`` (a report's audience)."""
    path = store.default_path(open_warehouse(args.url).root)
    return desk(store.open_store(path), tables, scope).frame()


def add_followups(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("followups", help="list, add, complete, reassign or back up follow-ups")
    verbs = p.add_subparsers(dest="verb", required=True)
    ls = verbs.add_parser("list", help="the follow-ups in your scope (newest first)")
    ls.add_argument("--open", action="store_true", help="only the open ones, overdue first")
    add_output(ls)
    ls.set_defaults(func=cmd_list)
    new = verbs.add_parser("add", help="assign a follow-up for a customer")
    new.add_argument("customer", help="customer_id")
    new.add_argument("--action", choices=store.ACTIONS, required=True)
    new.add_argument("--due", required=True, help="YYYY-MM-DD")
    new.add_argument("--assignee", help="default: the customer's sales rep (a rep: themselves)")
    new.add_argument("--note", default="")
    new.set_defaults(func=cmd_add)
    done = verbs.add_parser("done", help="record the outcome of an open follow-up")
    done.add_argument("id", type=int)
    done.add_argument("--outcome", choices=store.OUTCOMES, required=True)
    done.add_argument("--note", default="")
    done.set_defaults(func=cmd_done)
    re = verbs.add_parser("reassign", help="give an open follow-up to someone else")
    re.add_argument("id", type=int)
    re.add_argument("--to", required=True)
    re.set_defaults(func=cmd_reassign)
    backup = verbs.add_parser("backup", help="a consistent copy of the follow-up store")
    backup.add_argument("dest", help="file to write (an SQLite database)")
    backup.set_defaults(func=cmd_backup)


def cmd_list(args: argparse.Namespace) -> int:
    d = _desk(args)
    rows = d.frame()
    if args.open:
        rows = fu.work_list(rows, today=date.today(), mine=d.mine)
    return write(rows, args, "followups")


def cmd_add(args: argparse.Namespace) -> int:
    try:
        due = date.fromisoformat(args.due)
    except ValueError:
        raise SystemExit(f"--due: {args.due!r} is not a date (YYYY-MM-DD)") from None
    d = _desk(args)
    assignee = args.assignee or (d.scope.reps[0] if not d.can_assign
                                 else d.owners.get(args.customer, d.user))
    fid = d.add(store.New(customer_id=args.customer, assignee=assignee,
                          due=due, action=args.action, note=args.note,
                          source="cli"))
    print(f"follow-up {fid} assigned to {assignee}", file=sys.stderr)
    return 0


def cmd_done(args: argparse.Namespace) -> int:
    _desk(args).done(args.id, outcome=args.outcome, note=args.note)
    print(f"follow-up {args.id} done: {args.outcome}", file=sys.stderr)
    return 0


def cmd_reassign(args: argparse.Namespace) -> int:
    _desk(args).reassign(args.id, to=args.to)
    print(f"follow-up {args.id} reassigned to {args.to}", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    path = store.default_path(open_warehouse(args.url).root)
    n = store.open_store(path).backup(args.dest)
    print(f"backed up {n:,} follow-ups from {path} to {args.dest}", file=sys.stderr)
    return 0


COMMANDS = (add_followups,)
