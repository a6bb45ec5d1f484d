"""`python -m fastapi_expert` runs the command line."""

from fastapi_expert.cli import main

raise SystemExit(main())
