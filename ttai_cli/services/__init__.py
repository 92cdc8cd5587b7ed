"""Services: what the commands do, free of Typer and rich, testable with fakes."""
