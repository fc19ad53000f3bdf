"""The one place where domain errors become exit codes and HTTP statuses."""

from __future__ import annotations

from rxledger.domain.errors import RxLedgerError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
_EXIT_BY_KIND = {
    "invalid": 3,
    "not_found": 4,
    "conflict": 5,
    "forbidden": 6,
    "unauthenticated": 6,
    "throttled": 6,
    "unavailable": 7,
    "too_large": 3,
}
_HTTP_BY_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "throttled": 429,
    "unavailable": 503,
    "too_large": 413,
}


def exit_code(error: RxLedgerError) -> int:
    return _EXIT_BY_KIND.get(error.kind, 3)


def http_status(error: RxLedgerError) -> int:
    return _HTTP_BY_KIND.get(error.kind, 422)
