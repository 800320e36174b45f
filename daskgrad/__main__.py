"""``python -m daskgrad``: the ``daskgrad`` command."""

from daskgrad.cli import main

raise SystemExit(main())
