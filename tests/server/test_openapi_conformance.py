"""Schemathesis over ``/openapi.json`` of the real app, on SQLite and PostgreSQL: requests made from the document
(valid ones, and invalid ones the document rules out) get no server error, invalid ones are refused, and every
answer is one the document describes, in status, content type and schema. The document is the contract: what
it says must be what the code does.

Bounded: ``EXAMPLES`` valid and as many invalid requests per operation, and as many again with the world's own
park in the path (so they reach past the lookup), as an admin (the gate's device on ``/gate/*``).
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import PARK, World
from tests.server.test_hostile_inputs import settings

__all__ = ["settings"]  # generated requests come from one address: no rate limit in their way (429s are described)

pytestmark = pytest.mark.slow

EXAMPLES = 12
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _strategies(operation: Any) -> list[Any]:
    found = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if any(parameter.name == "park" for parameter in operation.path_parameters):
        found.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"park": PARK}))
    return found


def _fuzz(operation: Any, headers: dict[str, str], failures: list[str]) -> None:
    """``EXAMPLES`` requests of each kind to ``operation``; every failure is recorded, none is shrunk."""
    checks = CHECKS
    if operation.path.endswith("/gate/events"):
        # a batch is checked event by event: a bad event is refused in the 200 answer, the others stored
        checks = [check for check in CHECKS if check is not negative_data_rejection]

    @hypothesis.settings(
        max_examples=EXAMPLES * 3,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate),
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=st.one_of(_strategies(operation)))
    def run(case: Any) -> None:
        # a request made invalid by leaving its credential out keeps it out
        component = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
        headless = component is not None and component.mode is GenerationMode.NEGATIVE
        try:
            case.call_and_validate(headers=None if headless else headers, checks=checks)
        except (AssertionError, FailureGroup) as err:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:600]}")

    run()


def test_the_api_does_what_its_document_says(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    for operation in operations:
        device = operation.path.startswith("/api/v1/gate/")
        _fuzz(operation, world.entry_device if device else world.admin, failures)
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(dict.fromkeys(failures))
