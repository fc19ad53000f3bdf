"""rxledger's benchmarks: posting throughput against a raw durable-write baseline, and the latency
of the ledger's time-travel queries over a large ledger. Run them with ``make bench``."""
