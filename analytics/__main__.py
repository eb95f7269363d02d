"""``python -m analytics COMMAND``: the command line (analytics.ops.cli)."""

from analytics.ops.cli import main

raise SystemExit(main())
