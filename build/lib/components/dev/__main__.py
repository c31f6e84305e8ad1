"""`python -m components.dev`: what ./dev-up runs once .venv is ready."""

import sys

from .cli import main

sys.exit(main())
