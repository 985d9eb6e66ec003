"""Roles and what each may do: the one permission table every admin route is checked against."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    developer = "developer"
    marketer = "marketer"
    viewer = "viewer"


class Permission(StrEnum):
    config_read = "config:read"
    config_write = "config:write"
    data_read = "data:read"
    data_erase = "data:erase"
    segments_write = "segments:write"
    keys_manage = "keys:manage"
    destinations = "destinations"
    """Read and change destinations and their deliveries: their configs hold other
    systems' credentials and their queues hold personal data."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.developer: frozenset(
        {
            Permission.config_read,
            Permission.config_write,
            Permission.data_read,
            Permission.destinations,
            Permission.segments_write,
        }
    ),
    Role.marketer: frozenset(
        {Permission.config_read, Permission.data_read, Permission.segments_write}
    ),
    Role.viewer: frozenset({Permission.config_read, Permission.data_read}),
}


def may(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
