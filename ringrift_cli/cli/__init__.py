"""The Typer command line: parse, call the library, render. No business logic, no SQL."""
