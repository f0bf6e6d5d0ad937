"""Domain errors: raised by services, turned into HTTP or signaling errors at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the hub reports to a caller with a clear message."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class ValidationFailed(DomainError):
    """Input broke a rule: names the field and the problem."""

    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    """Missing, or outside the caller's scope: existence does not leak."""

    status = 404
    code = "not_found"


class Unauthorized(DomainError):
    """No valid sign-in (missing, wrong or expired token)."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Signed in and in scope, but the role may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The request clashes with the record's current state (e.g. an illegal transition)."""

    status = 409
    code = "conflict"


class RateLimited(DomainError):
    """Too many attempts; try again later."""

    status = 429
    code = "rate_limited"
