"""`python -m rapport.cli`: the `journey` command."""

from rapport.cli import main

main()
