"""Admin API authentication: `Authorization: Bearer <key>`, checked against the one
permission table in `kith.domain.access`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kith.domain.access import Permission, may
from kith.domain.apikey import ApiKey
from kith.domain.errors import Forbidden, NotAuthenticated
from kith.services import Services

_bearer = HTTPBearer(auto_error=False, description="An API key: `kith keys create --role R`")


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def require(permission: Permission) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that admits a key whose role has `permission`."""

    async def check(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> ApiKey:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise NotAuthenticated("Send an API key as `Authorization: Bearer <key>`")
        key = await services_of(request).keys.authenticate(credentials.credentials)
        if key is None:
            raise NotAuthenticated("Invalid API key")
        if not may(key.role, permission):
            raise Forbidden(f"Role {key.role.value!r} may not {permission.value}")
        return key

    check.__name__ = f"require_{permission.name}"
    return check
