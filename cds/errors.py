"""Exceptions that cross layer boundaries; the HTTP layer turns each into one status code."""

from __future__ import annotations


class NkCdsError(Exception):
    """Base class for the service's own errors."""


class BadRequest(NkCdsError):
    """The client's request is malformed (400)."""


class PreconditionFailed(NkCdsError):
    """Required patient data (Patient, Condition) could be obtained neither from prefetch nor FHIR (412)."""


class DefinitionError(NkCdsError):
    """A trial or mapping data file is invalid (raised at load time, reported by ``nk-cds check``)."""
