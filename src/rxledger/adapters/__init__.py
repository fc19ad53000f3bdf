"""Adapters: the database, and later the formats of the field (GS1, EPCIS, X12, HL7/FHIR, PDF)."""
