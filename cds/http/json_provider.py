"""Flask's JSON provider writing responses with orjson (``cds.jsonio.dumps_bytes``): compact, keys in insertion
order, UTF-8 rather than ``\\uXXXX`` escapes (the same JSON values). What orjson would not write as the standard
library does, and the indented debug form, go to Flask's own provider, unchanged (the two exceptions, non-finite
floats and ``Enum`` members, are in ``cds.jsonio``).
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask.wrappers import Response

from cds.jsonio import dumps_bytes


class OrjsonProvider(DefaultJSONProvider):
    """Flask's default provider (``sort_keys`` off), with responses written by orjson where it can."""

    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)  # indented: the rare, human-read case
        body = dumps_bytes(obj)
        if body is None:
            return super().response(*args, **kwargs)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)
