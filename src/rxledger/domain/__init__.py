"""The rules of the pharmacy's stock, in pure Python: no framework, no database, no clock."""
