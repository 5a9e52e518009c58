"""The server's exception tree.

Every error a caller can cause or observe is a subclass of `HooksmithError`;
`hooksmith_server.api.status` maps each subclass to exactly one gRPC status.

    HooksmithError
    ├── InvalidArgument          INVALID_ARGUMENT, with field violations
    ├── NotFound                 NOT_FOUND
    ├── AlreadyExists            ALREADY_EXISTS
    ├── Aborted                  ABORTED (stale expected_version)
    ├── FailedPrecondition       FAILED_PRECONDITION (archived webhook, ...)
    ├── Unauthenticated          UNAUTHENTICATED
    ├── PermissionDenied         PERMISSION_DENIED
    ├── ResourceExhausted        RESOURCE_EXHAUSTED
    └── Unavailable              UNAVAILABLE (the database cannot be reached)

Driver errors (asyncpg, OSError) are translated at the store boundary and never
reach the API layer as themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: `field` is a path such as `spec.headers[2].value`."""

    field: str
    description: str

    def under(self, prefix: str) -> FieldViolation:
        """The same violation with its field path nested below `prefix`."""
        if not prefix:
            return self
        field = f"{prefix}.{self.field}" if self.field else prefix
        return FieldViolation(field, self.description)


class HooksmithError(Exception):
    """Something went wrong in Hooksmith."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidArgument(HooksmithError):
    """The request is invalid."""

    def __init__(
        self, message: str | None = None, violations: Iterable[FieldViolation] = ()
    ) -> None:
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        if message is None and self.violations:
            message = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(message)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """An error about a single field."""
        return cls(violations=[FieldViolation(field, description)])

    def under(self, prefix: str) -> InvalidArgument:
        """The same error with every field path nested below `prefix`."""
        return InvalidArgument(violations=[v.under(prefix) for v in self.violations])


class NotFound(HooksmithError):
    """The requested resource does not exist."""


class AlreadyExists(HooksmithError):
    """The resource already exists."""


class Aborted(HooksmithError):
    """The operation conflicted with a concurrent change; read again and retry."""


class FailedPrecondition(HooksmithError):
    """The resource is not in a state that allows this operation."""


class Unauthenticated(HooksmithError):
    """A valid API key is required: send metadata `authorization: Bearer <key>`."""


class PermissionDenied(HooksmithError):
    """This API key's scope does not allow the operation."""


class ResourceExhausted(HooksmithError):
    """A limit was reached."""


class Unavailable(HooksmithError):
    """The service cannot reach its database; try again."""
