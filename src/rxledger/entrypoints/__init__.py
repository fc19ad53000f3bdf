"""Entry points: the CLI (and later the API and the web UI). They parse input, call one service,
and map errors to exit codes or HTTP statuses in one place."""
