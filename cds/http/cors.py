"""CORS for every endpoint. Preflight (OPTIONS) is answered before authentication, so it never needs a token.

Allowed origins come from ``NK_CDS_CORS_ORIGINS`` (``*`` = any). No credentials are allowed (the clients
authenticate with bearer tokens, not cookies), so ``*`` is answered literally.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Accept"
MAX_AGE_S = "600"


def _allowed_origin(origins: tuple[str, ...], origin: str | None) -> str | None:
    if not origin:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    @app.before_request
    def _preflight() -> Response | None:
        if request.method != "OPTIONS":
            return None
        response = Response(status=204)
        del response.headers["Content-Type"]
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE_S
        response.headers["Allow"] = ALLOW_METHODS
        return response

    @app.after_request
    def _cors_headers(response: Response) -> Response:
        allowed = _allowed_origin(origins, request.headers.get("Origin"))
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            if allowed != "*":
                response.vary.add("Origin")
        return response
