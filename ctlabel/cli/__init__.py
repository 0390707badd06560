"""The Typer command-line interface; each module holds one command group."""
