"""schemathesis against the API's own OpenAPI schema (/api/v1/openapi.json), through ASGI, as an
organization-wide admin on a stocked database (SQLite and PostgreSQL): for every operation, the
schema's examples and a bounded number of generated requests, valid and invalid; no 5xx, and
every status, content type and body as the schema documents it.

The operations are parametrized here rather than with ``@schema.parametrize()``: under pytest 9,
schemathesis 4.32 gives all of its generated tests one node id (and ``from_fixture`` fails on
``request.node._nodeid``), so failures could not be told apart or re-run one by one.
"""

from __future__ import annotations

from datetime import date

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rxledger.services.runtime import Runtime
from tests.e2e.api_support import (
    API,
    ApiWorld,
    build_api_world,
    idle_app,
    use_fast_password_hashing,
)

MAX_EXAMPLES = 15  # per operation, valid and invalid requests together
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# One app for the module, pointed at each test's database through ``app.state.runtime``; loading
# the schema reads only the app's routes, never a database.
APP = idle_app()
SCHEMA = schemathesis.openapi.from_asgi(f"{API}/openapi.json", APP)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def world(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> ApiWorld:
    """An admin's token, and stock to read: a receipt and a dispense at CENTRAL."""
    use_fast_password_hashing(monkeypatch)
    world = build_api_world(rt, ("org_admin",), app=APP)
    item = world.net.item("Amoxicillin 500 mg capsule")
    world.net.receive(item, 500, "L1", date(2027, 12, 31))
    world.net.dispense(item, 5)
    return world


def test_every_operation_of_the_api_is_in_the_run() -> None:
    labels = {op.label for op in OPERATIONS}
    assert len(labels) == len(OPERATIONS) >= 31
    assert "POST /api/v1/documents/dispenses" in labels


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_the_api_answers_generated_requests_as_its_schema_says(
    operation: schemathesis.APIOperation, world: ApiWorld
) -> None:
    # given the schema's examples and generated requests, valid and invalid
    cases = st.one_of(
        *operation.get_strategies_from_examples(),
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = world.users["org_admin"].headers

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases)
    def answers_as_documented(case: schemathesis.Case) -> None:
        # when it is sent, then the response passes every check
        case.call_and_validate(headers=headers, checks=CHECKS)

    answers_as_documented()


def _with_examples() -> list[object]:
    return [pytest.param(op, id=op.label) for op in OPERATIONS if op.get_strategies_from_examples()]


@pytest.mark.parametrize("operation", _with_examples())
def test_the_schemas_own_examples_are_valid_input(
    operation: schemathesis.APIOperation, world: ApiWorld
) -> None:
    """An example in the documentation may name ids this database lacks, but its shape is valid."""
    headers = world.users["org_admin"].headers

    @settings(max_examples=5, deadline=None, database=None)
    @given(case=st.one_of(*operation.get_strategies_from_examples()))
    def accepted_as_input(case: schemathesis.Case) -> None:
        # when the example is sent
        response = case.call(headers=headers)
        # then it is never refused as malformed
        assert response.status_code not in (400, 422) or response.json()["code"] not in (
            "MALFORMED_JSON",
            "VALIDATION_ERROR",
        ), response.text

    accepted_as_input()


def test_the_documentation_shows_examples_of_the_main_writes() -> None:
    labels = {op.label for op in OPERATIONS if op.get_strategies_from_examples()}
    assert labels >= {
        "POST /api/v1/items",
        "POST /api/v1/documents/receipts",
        "POST /api/v1/documents/dispenses",
    }
