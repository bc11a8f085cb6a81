"""Reading from the client's FHIR server (``fhirServer``) with fhirpy's synchronous client.

``FhirSource`` wraps one ``fhirpy.SyncFHIRClient`` per hook call. The client builds request URLs and
headers (``Accept: application/fhir+json``; ``Authorization: Bearer <token>`` only when a token was
given). Its transport (``_do_request``) is replaced, because fhirpy 2.3.1's own one:

- turns 429 and 503 into a bare ``OperationOutcome`` exception without the status, so nothing can retry;
- follows redirects (``requests`` default), i.e. may contact another origin;
- checks absolute URLs with a substring test (``self.url in path``), which
  ``https://evil.example/?https://ehr/fhir`` passes;
- reads bodies of any size and needs a module-level ``requests.request`` (no connection reuse).

The replacement sends GETs only, through one ``requests.Session`` (``responses`` mocks it), and only to
URLs under the ``fhirServer`` base (loopback names aliased, see ``allowlist.under_base``): the token can
reach no other origin. Each request's timeout is ``min(request timeout, time left in the budget)``; 429/503
and connection resets are retried at most ``MAX_RETRIES`` times (``Retry-After`` honoured when it fits in
the budget); bodies above ``max_response_bytes`` and anything not a JSON object are errors.

``search_all`` follows ``Bundle.link[next]`` as given while it stays under the base, detects a repeated
next URL (loop) and stops with an error at ``max_pages``. Every failure is a ``FetchError`` with a short
reason that holds no URL query, token or patient data.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests
from fhirpy import SyncFHIRClient

from cds.gather.allowlist import onto_base, under_base
from cds.gather.bundles import MEDICATION, read_page
from cds.jsonio import parse_json

log = logging.getLogger(__name__)

MAX_RETRIES = 2
BACKOFF_S = (0.2, 0.5)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MAX_RESOURCES_PER_SEARCH = 100_000
_CHUNK = 256 * 1024
_MIN_REQUEST_S = 0.05  # less time than this left in the budget: do not start another request


class _RedactUrls(logging.Filter):
    """Strip ids and queries from URLs in urllib3/fhirpy debug lines before any handler sees them.

    ``GET /fhir/Patient/123?x=1`` becomes ``GET /fhir/Patient/<id>?<query>``: the path is kept up to the
    first segment that looks like a resource type, so the lines still say what was asked for.
    """

    _TARGET = re.compile(r"(/[^\s\"'?]*)(\?[^\s\"']*)?")

    @staticmethod
    def _redact(match: re.Match[str]) -> str:
        segments = match.group(1).split("/")
        for index, segment in enumerate(segments):
            if segment[:1].isupper():
                kept = segments[: index + 1] + (["<id>"] if len(segments) > index + 1 else [])
                break
        else:
            kept = segments
        return "/".join(kept) + ("?<query>" if match.group(2) else "")

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is dropped, not raised
            return False
        record.msg, record.args = self._TARGET.sub(self._redact, message), ()
        return True


for _name in ("urllib3.connectionpool", "fhirpy"):
    logging.getLogger(_name).addFilter(_RedactUrls())


class FetchError(Exception):
    """A FHIR read or search failed; ``reason`` is safe to log (no URL query, token or patient data)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class SearchResult:
    resources: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)  # Medication
    dropped: int = 0
    pages: int = 0


class _Client(SyncFHIRClient):
    """fhirpy's sync client with the service's transport (see the module docstring)."""

    def __init__(self, source: FhirSource, authorization: str | None) -> None:
        # No url_aliases: every absolute URL is checked and rewritten onto the base (``onto_base``) first.
        super().__init__(source.base_url, authorization=authorization)
        self._source = source

    def _do_request(  # type: ignore[override]
        self,
        method: str,
        path: str,
        data: dict | None = None,
        params: dict | None = None,
        extra_headers: dict | None = None,
        *,
        returning_status: bool = False,
    ) -> Any:
        if method.lower() != "get" or data is not None:
            raise FetchError("only GET is allowed")
        # Relative paths (searches, relative next links) resolve against the base as RFC 3986 says;
        # fhirpy would append a second "?" to a path that already has a query.
        absolute = path if _is_absolute(path) else urljoin(self.url.rstrip("/") + "/", path)
        if params or not under_base(absolute, self.url):
            raise FetchError("URL outside the FHIR server")
        try:
            url = self._build_request_url(onto_base(absolute, self.url), None)
        except ValueError as exc:
            raise FetchError("URL outside the FHIR server") from exc
        headers = {**self._build_request_headers(), **(extra_headers or {})}
        body = self._source.get_json(url, headers)
        return (body, 200) if returning_status else body


class FhirSource:
    """The FHIR server of one hook call: base URL, optional bearer token, one deadline for everything."""

    def __init__(
        self,
        base_url: str,
        access_token: str | None,
        deadline: float,
        request_timeout_s: float,
        max_pages: int,
        session: requests.Session | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_resources: int = MAX_RESOURCES_PER_SEARCH,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self.request_timeout_s = request_timeout_s
        self.max_pages = max_pages
        self.max_response_bytes = max_response_bytes
        self.max_resources = max_resources
        self.session = session or requests.Session()
        self.client = _Client(self, f"Bearer {access_token}" if access_token else None)

    def close(self) -> None:
        self.session.close()

    # ---- transport ---------------------------------------------------------------------------------
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def get_json(self, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """One GET with retries on 429/503/connection reset; the JSON object it returned."""
        attempt = 0
        while True:
            left = self.remaining()
            if left < _MIN_REQUEST_S:
                raise FetchError("time budget exhausted")
            try:
                response = self.session.get(
                    url,
                    headers=headers,
                    timeout=min(self.request_timeout_s, left),
                    stream=True,
                    allow_redirects=False,
                )
            except requests.Timeout as exc:
                raise FetchError("timeout") from exc
            except requests.ConnectionError as exc:
                if attempt < MAX_RETRIES and self._pause(BACKOFF_S[attempt]):
                    attempt += 1
                    continue
                raise FetchError("connection failed") from exc
            except requests.RequestException as exc:
                raise FetchError(f"request failed ({type(exc).__name__})") from exc
            status = response.status_code
            if status in (429, 503) and attempt < MAX_RETRIES:
                response.close()
                if self._pause(_retry_after(response, BACKOFF_S[attempt])):
                    attempt += 1
                    continue
                raise FetchError(f"HTTP {status}", status)
            if not 200 <= status < 300:
                response.close()
                raise FetchError(f"HTTP {status}", status)
            return self._read_json(response)

    def _pause(self, seconds: float) -> bool:
        """Sleep before a retry when the retry still fits in the budget."""
        if seconds + _MIN_REQUEST_S >= self.remaining():
            return False
        time.sleep(seconds)
        return True

    def _read_json(self, response: requests.Response) -> dict[str, Any]:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise FetchError("response too large")
                if self.remaining() <= 0:
                    raise FetchError("time budget exhausted")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise FetchError("connection failed while reading") from exc
        finally:
            response.close()
        try:
            body = parse_json(b"".join(chunks))
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise FetchError("invalid JSON") from exc
        if not isinstance(body, dict):
            raise FetchError("not a JSON object")
        return body

    # ---- FHIR operations ---------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """Instance read; the resource must have the asked type and id."""
        resource = self.client.get(resource_type, resource_id)
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            raise FetchError(f"not a {resource_type}")
        if resource.get("id") != resource_id:
            raise FetchError(f"{resource_type} id differs from the one asked for")
        return resource

    def search_all(
        self,
        path: str,
        resource_type: str,
        patient_id: str | None,
        start: SearchResult | None = None,
    ) -> SearchResult:
        """Run a search (relative path, or a next link) and follow every next page."""
        result = start or SearchResult()
        seen: set[str] = set()
        url: str | None = path
        ids: set[str] = {str(r.get("id")) for r in result.resources}
        while url is not None:
            absolute = url if _is_absolute(url) else urljoin(self.base_url + "/", url)
            if not under_base(absolute, self.base_url):
                raise FetchError("next link outside the FHIR server")
            key = onto_base(absolute, self.base_url)
            if key in seen:
                raise FetchError("paging loop")
            seen.add(key)
            if result.pages >= self.max_pages:
                raise FetchError("page limit reached")
            page = read_page(self.client.execute(key, method="get"), resource_type, patient_id)
            result.pages += 1
            if page.error:
                raise FetchError(page.error)
            for resource in page.resources:
                rid = resource.get("id")
                if rid is None or str(rid) not in ids:  # paging may repeat a resource
                    result.resources.append(resource)
                    ids.add(str(rid))
            result.included.extend(page.included)
            result.dropped += page.dropped_type + page.dropped_other_patient
            if len(result.resources) + len(result.included) > self.max_resources:
                raise FetchError("too many resources")
            url = page.next_url
        return result

    def medications(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Medication resources by id (``_id`` search, 50 ids a query)."""
        wanted = sorted(set(ids))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 50):
            chunk = ",".join(wanted[start : start + 50])
            found.extend(self.search_all(f"{MEDICATION}?_id={chunk}", MEDICATION, None).resources)
        return found


def _is_absolute(url: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url))


def _retry_after(response: requests.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())
