"""Readers of shipment data files: each turns one file's bytes into a ``ShipmentData``."""
