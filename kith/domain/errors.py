"""One error hierarchy. The HTTP status lives on the class; `api/errors.py` renders it."""

from __future__ import annotations

from typing import Any


class KithError(Exception):
    """Base of every error Kith raises on purpose."""

    status_code = 500

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.__class__.__doc__


class ClientError(KithError):
    """The request is wrong; retrying it unchanged will not help."""

    status_code = 400


class InvalidPayload(ClientError):
    """The body breaks the schema. `detail` is a list of {loc, msg, type}."""

    status_code = 422

    @classmethod
    def at(cls, loc: list[str | int], msg: str, type_: str = "value_error") -> InvalidPayload:
        return cls([{"loc": loc, "msg": msg, "type": type_}])


class UnknownSource(ClientError):
    """Unknown, disabled or internal source, or one that does not allow this bridge."""

    status_code = 401


class BotRejected(ClientError):
    """Bots are refused by configuration (KITH_REJECT_BOTS)."""

    status_code = 401


class PayloadTooLarge(ClientError):
    """The body is larger than the configured limit."""

    status_code = 413


class NotAuthenticated(ClientError):
    """A valid API key is required."""

    status_code = 401


class Forbidden(ClientError):
    """This key's role may not do this."""

    status_code = 403


class NotFound(ClientError):
    """No such thing."""

    status_code = 404


class Conflict(ClientError):
    """It already exists."""

    status_code = 409


class Overloaded(KithError):
    """The writer is backed up; retry shortly."""

    status_code = 503


class RateLimited(ClientError):
    """The source sends faster than its configured rate; retry after `retry_after` seconds."""

    status_code = 429

    def __init__(self, detail: Any = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)
