"""FastAPI dependencies as ``Annotated`` aliases: the request's connection, its user or its device, who may
call a route, and the errors a route may answer (for the OpenAPI document).

Who may call a route is a dependency (``AdminUser``, ``ManagerUser``, ``ReadablePark``, ``ManagedPark``), never
a check inside the route: FastAPI runs dependencies before it checks the body, so a ranger sending anything
to a manager's route is told 403, never how what they sent is wrong. A body that is not even JSON waits for
the dependencies too: routes of ``ChecksFirst`` hold it as ``InvalidJSON``, which fails the body's check after
them (``server.web`` answers it as ``json_invalid``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, Response, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from sqlalchemy.engine import Connection, Engine

from protocol import SigningKey
from server.accounts import User, user_for_token
from server.api.schemas import ErrorPublic, PermitRef, Slug
from server.config import Settings
from server.parks import Gate, Park, gate_for_device_token, get_park
from server.security import DEVICE_TOKEN_PREFIX, USER_TOKEN_PREFIX

# auto_error=False: we answer missing and wrong credentials ourselves, with 401 vs 403 told apart
_user_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_device_scheme = HTTPBearer(auto_error=False, description="device token (qd_...) of one gate")


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """One transaction per request: committed when the route returns, rolled back when it raises."""
    with engine.begin() as conn:
        yield conn


# scope="function": commit before the response is sent, so a client never sees success for a lost write
ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SigningKeyDep = Annotated[SigningKey, Depends(get_signing_key)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def get_current_user(conn: ConnDep, token: Annotated[str | None, Depends(_user_scheme)]) -> User:
    if not token:
        raise _unauthorized("not authenticated: send Authorization: Bearer <access token>")
    if token.startswith(DEVICE_TOKEN_PREFIX):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a device token may only call /api/v1/gate/*")
    user = user_for_token(conn, token)
    if user is None:
        raise _unauthorized("access token is invalid or expired; get a new one at /api/v1/auth/token")
    return user


def get_current_device(
    conn: ConnDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_scheme)]
) -> Gate:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("not authenticated: send Authorization: Bearer <device token>")
    token = credentials.credentials
    if token.startswith(USER_TOKEN_PREFIX):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "gate routes take a device token, not a user's token")
    gate = gate_for_device_token(conn, token)
    if gate is None:
        raise _unauthorized("device token is invalid or was replaced")
    return gate


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentDevice = Annotated[Gate, Depends(get_current_device)]


def _admin(user: CurrentUser) -> User:
    user.require_admin()
    return user


def _manager(user: CurrentUser) -> User:
    user.require_manager()  # which park is the route's to check (``ManagedPark``)
    return user


AdminUser = Annotated[User, Depends(_admin)]
ManagerUser = Annotated[User, Depends(_manager)]

ParkSlug = Annotated[Slug, Path(description="the park's slug")]
GateSlug = Annotated[Slug, Path(description="the gate's slug in its park")]
PermitId = Annotated[PermitRef, Path()]


def _readable_park(conn: ConnDep, user: CurrentUser, park: ParkSlug) -> Park:
    found = get_park(conn, park)
    user.require_read(found)
    return found


def _managed_park(conn: ConnDep, user: ManagerUser, park: ParkSlug) -> Park:
    found = get_park(conn, park)
    user.require_manage(found)
    return found


# the park of the path, which the user may see (any role of the park) or manage (an admin, the park's manager)
ReadablePark = Annotated[Park, Depends(_readable_park)]
ManagedPark = Annotated[Park, Depends(_managed_park)]


class InvalidJSON:
    """A request body that is not JSON, held as the body's value until the route's dependencies have run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _HeldJSONRequest(Request):
    async def json(self) -> Any:
        try:
            return await super().json()
        # not JSON, or not UTF-8; an integer of thousands of digits; nesting deeper than the parser goes
        except (ValueError, RecursionError) as err:
            return InvalidJSON(str(err)[:200])


class ChecksFirst(APIRoute):
    """A route whose dependencies (who may call it) run before anything about its JSON body is judged."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_HeldJSONRequest(request.scope, request.receive))

        return checked


ERROR_DESCRIPTIONS = {
    400: "The body could not be read (a form that does not parse).",
    401: "No credential, or one that is invalid or expired.",
    403: "The credential does not allow this.",
    404: "What the path or the body names does not exist.",
    409: "It exists already, or its places are gone.",
    413: "The body is larger than the server takes.",
    422: "The request is not valid: ``errors`` says where.",
    429: "Too many requests: wait ``Retry-After`` seconds.",
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route that may answer these error statuses (``ErrorPublic``)."""
    return {code: {"model": ErrorPublic, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


_ERROR_REF = {"$ref": "#/components/schemas/ErrorPublic"}


def document_errors(schema: dict[str, Any]) -> None:
    """Make the document say how every operation answers errors: ``ErrorPublic`` for FastAPI's own 422 (a route
    that names no 422 itself), 401 and 403 where a credential is needed, 413 (and 422) where a body is sent."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            needed = set()
            if operation.get("security"):
                needed |= {401, 403}
            if "requestBody" in operation:
                needed |= {413, 422}
            for code, answer in answers(*needed).items():
                responses.setdefault(str(code), {"description": answer["description"]})
            for code, response in responses.items():
                if code.startswith("4"):
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
