"""What the server answers: every status code and body of ``spec/import-api.md``, in one place.

Stitch's texts are kept as the spec gives them (the stray ``s`` of the 413
text included). Decisions where the spec is silent or conflicts (section 9):

- Every error body is JSON, also where Stitch documents plain text (batch
  415, push 405): a client reads the status either way, and a JSON body is
  what the OpenAPI document promises.
- A method a known path does not take is 405 with ``Allow`` (9.8: the push
  table's code; 404 stays for unknown paths).
- The body limit is 20,000,000 bytes (9.7: what target-stitch treats as the
  ceiling), a setting.
- Malformed JSON sent to the batch endpoint gets the push endpoint's text
  in the batch endpoint's ``{"error": ...}`` shape (9.10).
- A paused integration (9.9) does not exist here: a token is valid or not.
- A load the destination could not take (unreachable, out of memory) is 503,
  which clients retry; nothing of it was written.
"""

from __future__ import annotations

import typing as t

Body = dict[str, t.Any]

ACCEPTED: Body = {"status": "OK", "message": "Batch Accepted!"}
VALID: Body = {"status": "OK", "message": "Batch is valid!"}
NOT_AUTHORIZED: Body = {"message": "Not Authorized"}
NOT_AUTHENTICATED: Body = {"status": "ERROR", "error": "Not Authenticated.", "errors": None}
NOT_THIS_CLIENT: Body = {
    "status": "ERROR",
    "error": "Forbidden",
    "errors": {"error": "Access token is not associated with this client."},
}
ARRAY_EXPECTED: Body = {"status": "ERROR", "message": "An array of records is expected"}
BATCH_CONTENT_TYPE: Body = {"status": "ERROR", "message": "Content-Type must be application/json"}
METHOD_NOT_ALLOWED: Body = {"status": "ERROR", "message": "Method not allowed."}
SEE_ERRORS = "Request cannot be processed; see errors."


def not_found(path: str) -> Body:
    """An unknown path."""
    return {"status": "ERROR", "message": f"Not found: {path}"}


def too_large(size: int) -> Body:
    """413: the body is over the limit (``size``: its length, or what was read of it)."""
    return {
        "status": "ERROR",
        "message": f"Request rejected: request size ({size}s bytes) exceeds the maximum",
    }


def push_content_type(content_type: str) -> Body:
    """415 of push and validate."""
    return {
        "status": "ERROR",
        "message": f"Unsupported content-type {content_type}. "
        "Please send application/json or application/transit+json",
    }


def malformed(endpoint: str, reason: str) -> Body:
    """400: the body does not parse (push's documented shape; batch's own)."""
    if endpoint == "batch":
        return {"error": f"Malformed json in the body!: {reason}"}
    return {
        "status": "ERROR",
        "message": "Malformed json in the body!",
        "error": reason,
        "input": None,
    }


def batch_refused(texts: t.Sequence[str]) -> Body:
    """400 of the batch endpoint: Stitch's texts, one per line."""
    return {"error": "\n".join(texts)}


def push_refused(reasons: t.Sequence[object]) -> Body:
    """422 of push and validate: one Error Reason per text."""
    return {"status": "ERROR", "error": SEE_ERRORS, "errors": [{"reason": r} for r in reasons]}


def unavailable(reason: str) -> Body:
    """503: nothing of the request was written; try again later."""
    return {"status": "ERROR", "message": f"Service unavailable: {reason}"}


def status(version: str) -> Body:
    """``GET /v2/import/status`` (a stopping server takes no new connection to answer it)."""
    return {"name": "pipeline.gate", "version": version, "revision": None, "status": "OK",
            "reason": None}  # fmt: skip


def internal_error() -> Body:
    """500: a bug of target-sequenced (logged with its traceback); nothing was written."""
    return {"status": "ERROR", "message": "Internal error of target-sequenced; see its log"}
