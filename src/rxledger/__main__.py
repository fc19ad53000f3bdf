"""``python -m rxledger`` runs the command line."""

from rxledger.entrypoints.cli.app import main

main()
