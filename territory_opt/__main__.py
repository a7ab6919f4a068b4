"""`python -m territory_opt` runs the CLI."""

from .cli import main

main()
