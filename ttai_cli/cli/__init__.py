"""The command-line layer: parse, call a service, render. No SQL, no SDK here."""
