"""The REST API under ``/api/v1`` (FastAPI): parse, call one service, map errors in one place."""
