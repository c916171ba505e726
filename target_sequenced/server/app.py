"""The HTTP layer: routes, tokens, content types and the body limit, then the applier.

Endpoints and answers follow ``spec/import-api.md`` sections 1 and 7; the
texts live in :mod:`.bodies`. In each request, in this order: the token
(401, before any of the body is read), the content type (415), the body
read up to the limit (413, as soon as ``Content-Length`` or the bytes read
pass it), its parse (400), then the payload's rules and its load, both in
the loading core (400 for batch, 422 for push). ``GET /v2/import/status``
needs no token; ``GET /openapi.json`` serves the API's OpenAPI document.

One log line per request: method, path, status, table, records and time,
never a token or a record.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import typing as t

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Route

from target_sequenced.core.errors import (
    DestinationError,
    InputError,
    OutOfMemoryError,
    PayloadError,
)
from target_sequenced.core.exact import parse
from target_sequenced.importapi.payload_rules import is_integer
from target_sequenced.importapi.plain import PlainPayload, read_plain
from target_sequenced.importapi.translate import Shape, Translator
from target_sequenced.server import bodies, transit
from target_sequenced.server.openapi import document

if t.TYPE_CHECKING:
    import logging

    from starlette.requests import Request
    from starlette.responses import Response

    from target_sequenced.server.applier import Applier

JSON = "application/json"
_LINE = re.compile(r"^input line \d+: ")
"""The input line a core's line-level error starts with (a request's has none to name)."""
TRANSIT = "application/transit+json"


class _Refusal(Exception):  # noqa: N818 - a response, not an error of ours
    """An answer decided before the payload reaches the core."""

    def __init__(
        self, status: int, body: bodies.Body, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers


class ImportApi:
    """The routes over one applier."""

    def __init__(
        self,
        applier: Applier,
        tokens: t.Mapping[str, int],
        *,
        max_body_bytes: int,
        version: str,
        logger: logging.Logger,
    ) -> None:
        """``tokens``: each accepted token and the client id it belongs to."""
        self.applier = applier
        self._tokens = [(_digest(token), client) for token, client in tokens.items()]
        self.max_body_bytes = max_body_bytes
        self.version = version
        self.logger = logger

    def app(self) -> Starlette:
        """The ASGI application."""
        routes = [
            Route("/v2/import/batch", self._endpoint(self.batch), methods=["POST"]),
            # target-stitch's big_batch_url: the same contract, larger bodies.
            Route("/v2/import/bigbatch", self._endpoint(self.batch), methods=["POST"]),
            Route("/v2/import/push", self._endpoint(self.push), methods=["POST"]),
            Route("/v2/import/validate", self._endpoint(self.validate), methods=["POST"]),
            Route("/v2/import/status", self._endpoint(self.status), methods=["GET"]),
            Route("/openapi.json", self._endpoint(self.openapi), methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={HTTPException: self._http_error})

    # -- endpoints -------------------------------------------------------------

    async def batch(self, request: Request) -> tuple[int, bodies.Body, str, int]:
        """``POST /v2/import/batch``: one table's records with their schema."""
        self._client(request)
        if _media_type(request) != JSON:
            raise _Refusal(415, bodies.BATCH_CONTENT_TYPE)
        text = await self._text(request, "batch")
        # In a thread, so that the event loop reads other bodies meanwhile.
        value = await anyio.to_thread.run_sync(_batch_body, text)
        if isinstance(value, PlainPayload):
            table = value.table
        else:
            # Any JSON value goes on: the payload rules word what a batch must be.
            name = value.get("table_name") if isinstance(value, dict) else None
            table = name if isinstance(name, str) else ""
        records = await self._apply(value, [table], "batch")
        return 201, bodies.ACCEPTED, table, records

    async def push(self, request: Request) -> tuple[int, bodies.Body, str, int]:
        """``POST /v2/import/push``: records of any tables, typed by their values."""
        elements = await self._push_elements(request)
        tables = sorted({e["table_name"] for e in elements if _named(e)})
        records = await self._apply(elements, tables, "push")
        return 201, bodies.ACCEPTED, ",".join(tables), records

    async def validate(self, request: Request) -> tuple[int, bodies.Body, str, int]:
        """``POST /v2/import/validate``: push's checks, nothing written."""
        elements = await self._push_elements(request)
        try:
            Translator().translate(elements, endpoint="push")
        except PayloadError as exc:
            raise _Refusal(422, bodies.push_refused(exc.errors)) from exc
        tables = sorted({e["table_name"] for e in elements if _named(e)})
        return 200, bodies.VALID, ",".join(tables), len(elements)

    async def status(self, _request: Request) -> tuple[int, bodies.Body, str, int]:
        """``GET /v2/import/status``: no token needed."""
        return 200, bodies.status(self.version), "", 0

    async def openapi(self, _request: Request) -> tuple[int, bodies.Body, str, int]:
        """The API's OpenAPI document."""
        return 200, document(self.version, self.max_body_bytes), "", 0

    # -- the steps of a request ------------------------------------------------

    def _client(self, request: Request) -> int:
        """The client id of the request's bearer token; 401 without a known one."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = _digest(token.strip() if scheme.lower() == "bearer" else "")
        found = None
        for known, client in self._tokens:  # every token compared: no early answer
            if hmac.compare_digest(known, given):
                found = client
        if found is None:
            raise _Refusal(401, bodies.NOT_AUTHORIZED)
        return found

    async def _text(self, request: Request, endpoint: str) -> str:
        """The body as text, refused (413) as soon as it is known to be too long."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Refusal(413, bodies.too_large(int(declared)), {"Connection": "close"})
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refusal(413, bodies.too_large(size), {"Connection": "close"})
            chunks.append(chunk)
        try:
            return b"".join(chunks).decode()
        except UnicodeDecodeError as exc:
            reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise _Refusal(400, bodies.malformed(endpoint, reason)) from exc

    async def _push_elements(self, request: Request) -> list[t.Any]:
        """Push's and validate's body: token, type, limit, parse, array, client ids."""
        client = self._client(request)
        media = _media_type(request)
        if media not in (JSON, TRANSIT):
            raise _Refusal(415, bodies.push_content_type(media or "(none)"))
        text = await self._text(request, "push")
        try:
            value = transit.read(text) if media == TRANSIT else parse(text)
        except (ValueError, RecursionError) as exc:
            raise _Refusal(400, bodies.malformed("push", _reason(exc))) from exc
        if not isinstance(value, list):
            raise _Refusal(400, bodies.ARRAY_EXPECTED)
        # Who is sending is the HTTP layer's to check (401, 403); the rest of
        # the client ids (mistyped, several) are the payload rules' (422).
        elements = [e for e in value if isinstance(e, dict)]
        if any("client_id" not in e for e in elements):
            raise _Refusal(401, bodies.NOT_AUTHENTICATED)
        named = [e["client_id"] for e in elements if is_integer(e["client_id"])]
        if named and named[0] != client:
            raise _Refusal(403, bodies.NOT_THIS_CLIENT)
        return value

    async def _apply(self, payload: object, tables: list[str], kind: Shape) -> int:
        """Load the payload in a worker thread; the core's refusals as the endpoint words them."""
        try:
            return await anyio.to_thread.run_sync(self.applier.apply, payload, tables, kind)
        except PayloadError as exc:
            texts = _stitch_texts(exc)
            if kind == "batch":
                raise _Refusal(400, bodies.batch_refused(texts)) from exc
            raise _Refusal(422, bodies.push_refused(texts)) from exc
        except (DestinationError, OutOfMemoryError) as exc:
            self.logger.error("%s", exc.one_line())  # noqa: TRY400 - one line, no traceback
            raise _Refusal(503, bodies.unavailable(exc.one_line())) from exc
        except InputError as exc:
            text = _without_line(str(exc))
            if kind == "batch":
                raise _Refusal(400, bodies.batch_refused([text])) from exc
            raise _Refusal(422, bodies.push_refused([text])) from exc

    # -- answers ---------------------------------------------------------------

    def _endpoint(
        self, handler: t.Callable[[Request], t.Awaitable[tuple[int, bodies.Body, str, int]]]
    ) -> t.Callable[[Request], t.Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            start = time.monotonic()
            table, records = "", 0
            try:
                status, body, table, records = await handler(request)
                headers = None
            except _Refusal as refusal:
                status, body, headers = refusal.status, refusal.body, refusal.headers
            except Exception:
                self.logger.exception(
                    "%s %s: an error of target-sequenced", request.method, request.url.path
                )
                status, body, headers = 500, bodies.internal_error(), None
            self._log(request, status, table, records, start)
            return JSONResponse(body, status_code=status, headers=headers)

        return endpoint

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        """Unknown paths (404) and methods a path does not take (405, with ``Allow``)."""
        start = time.monotonic()
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        if code == 405:  # noqa: PLR2004 - the status itself
            body, headers = bodies.METHOD_NOT_ALLOWED, getattr(exc, "headers", None)
        else:
            body, headers = bodies.not_found(request.url.path), None
        self._log(request, code, "", 0, start)
        return JSONResponse(body, status_code=code, headers=headers)

    def _log(self, request: Request, status: int, table: str, records: int, start: float) -> None:
        self.logger.info(
            "%s %s %d table=%s records=%d time=%.3fs",
            request.method,
            request.url.path,
            status,
            table or "-",
            records,
            time.monotonic() - start,
        )


def _digest(token: str) -> bytes:
    """Tokens compared as digests: equal lengths, so the comparison time says nothing."""
    return hashlib.sha256(token.encode()).digest()


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _named(element: object) -> bool:
    return isinstance(element, dict) and isinstance(element.get("table_name"), str)


def _batch_body(text: str) -> object:
    """A batch body read plain (:mod:`~target_sequenced.importapi.plain`), else parsed (400)."""
    plain = read_plain(text)
    if plain is not None:
        return plain
    try:
        return parse(text)
    except (ValueError, RecursionError) as exc:
        raise _Refusal(400, bodies.malformed("batch", _reason(exc))) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split("\n", 1)[0]


def _without_line(text: str) -> str:
    """A line-level error of the core without its input line: the request is the line.

    Records the core refuses are located in the request already (the applier's ``locate``).
    """
    return _LINE.sub("", text, count=1)


def _stitch_texts(exc: PayloadError) -> list[str]:
    """Stitch's texts: the core's message names the input line, its cause has the texts alone."""
    cause = exc.__cause__
    return list(cause.errors) if isinstance(cause, PayloadError) else list(exc.errors)
