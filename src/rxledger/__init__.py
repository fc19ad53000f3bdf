"""rxledger: a lot- and serial-level stock ledger for pharmacies and dispensaries."""

__version__ = "0.1.0"
