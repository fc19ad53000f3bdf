"""Tools for developers, tests and benchmarks; never imported by the running system."""
