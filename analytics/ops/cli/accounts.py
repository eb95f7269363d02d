"""Login users: add, remove, list, reset a password, one per level, whether login is on."""

from __future__ import annotations

import argparse
import sys

from analytics.ops import users
from analytics.ops.cli.common import known_provinces, password
from analytics.store.access import LEVELS

Subparsers = argparse._SubParsersAction  # the type argparse's add_subparsers returns


def add_users(sub: Subparsers) -> None:
    p = sub.add_parser("users", help="manage login users (the users file is outside the repo)")
    p.add_argument("action", choices=("add", "remove", "list", "reset", "demo", "status"))
    p.add_argument("username", nargs="?")
    p.add_argument("--level", choices=LEVELS, default=LEVELS[0])
    p.add_argument("--name", help="display name; for a rep, the name used in sales_rep")
    p.add_argument("--reps", nargs="*", help="reps in this user's scope")
    p.add_argument("--provinces", nargs="*", help="provinces in this user's scope")
    p.add_argument("--all-customers", action="store_true",
                   help="a manager of every customer (without it a manager needs --provinces "
                        "or --reps)")
    p.set_defaults(func=cmd_users)


def cmd_users(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            for u in users.list_users():
                scope = ",".join(u.get("reps") or []) or ",".join(u.get("provinces") or []) or "all"
                locks = users.locked_clients(u["username"])
                locked = "".join(f"  locked for {client} until {until}"
                                 for client, until in locks)
                print(f"{u['username']:<16}{u['level']:<11}{scope}{locked}")
        elif args.action == "add":
            if not args.username:
                raise ValueError("users add needs a user name")
            warnings = users.add_user(
                args.username, password(f"password for {args.username}: "),
                level=args.level, name=args.name or args.username, reps=tuple(args.reps or ()),
                provinces=tuple(args.provinces or ()), all_customers=args.all_customers,
                known_provinces=known_provinces(args))
            for warning in warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(f"added {args.username} ({args.level}) to {users.users_path()}")
        elif args.action == "remove":
            users.remove_user(args.username)
            print(f"removed {args.username}")
        elif args.action == "reset":
            users.reset_password(args.username, password(f"new password for {args.username}: "))
            print(f"password reset for {args.username}")
        elif args.action == "status":
            path = users.users_path()
            if users.login_required():
                print(f"login on: {len(users.list_users())} user(s) in {path}")
            else:
                print(f"SINGLE-USER MODE: no users file at {path}. Anyone who opens the app "
                      "is the admin, so it answers browsers on this machine only (set "
                      f"{users.ENV_ALLOW_OPEN}=1 to open it wider). Create users with "
                      "`python -m analytics users add NAME --level admin`.", file=sys.stderr)
        elif args.action == "demo":
            made = users.demo_users()
            print(f"users file: {users.users_path()} — these passwords are shown once:")
            for name, secret in made.items():
                print(f"  {name:<10} {secret}")
    except (ValueError, users.UsersFileError) as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


COMMANDS = (add_users,)
