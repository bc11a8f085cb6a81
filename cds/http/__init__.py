"""The HTTP layer: Flask application factory, CDS Hooks endpoints, errors, CORS and authentication glue."""

from cds.http.app import create_app

__all__ = ["create_app"]
