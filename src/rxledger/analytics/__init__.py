"""Replenishment analytics: demand series, classification, forecasts and stock policies.

Pure computation on data handed in (numpy, pandas, statsforecast, scipy); the services read the
ledger and call these functions.
"""
