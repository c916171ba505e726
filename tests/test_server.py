"""``target-sequenced serve``: the Import API over HTTP, a real server process and a plain client.

The vectors of ``spec/import-api.md`` section 7 that concern HTTP, each with
its status and body, then what the tables hold afterwards. A 2xx means
committed, so a PostgreSQL table is read while the server runs; a DuckDB
file is read after the server has stopped (its one writer holds the file).
"""

from __future__ import annotations

import copy
import json
import signal
import socket
import typing as t

import duckdb
import pytest

from tests.serving import CLIENT, Server, serving, write_config

if t.TYPE_CHECKING:
    from pathlib import Path

S = {
    "table_name": "customers",
    "schema": {
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "updated_at": {"type": "string", "format": "date-time"},
        }
    },
    "key_names": ["id"],
    "messages": [
        {
            "action": "upsert",
            "sequence": 100,
            "data": {"id": 1, "name": "Finn", "updated_at": "2020-01-13T21:25:03+0000"},
        }
    ],
}
FAILED = "Request failed validation:"


def s_with(change: t.Callable[[dict], object]) -> dict:
    body = copy.deepcopy(S)
    change(body)
    return body


def _data(**values: object) -> t.Callable[[dict], object]:
    return lambda b: b["messages"][0]["data"].update(values)


# (vector, body, status, expected body: a dict (exact) or a text the body holds)
BATCH_VECTORS: list[tuple[str, object, int, object]] = [
    ("1", S, 201, {"status": "OK", "message": "Batch Accepted!"}),
    ("2", s_with(lambda b: b.pop("table_name")), 400,
     {"error": f"{FAILED}#: required key [table_name] not found"}),
    ("3", s_with(lambda b: b.pop("schema")), 400,
     {"error": f"{FAILED}#: required key [schema] not found"}),
    ("4", s_with(lambda b: b.pop("messages")), 400,
     {"error": f"{FAILED}#: required key [messages] not found"}),
    ("5", s_with(lambda b: b.update(foo=1)), 400,
     {"error": f"{FAILED}#: extraneous key [foo] is not permitted"}),
    ("7", s_with(lambda b: b.update(schema=[])), 400,
     {"error": f"{FAILED}#/schema: expected type: JSONObject, found: JSONArray"}),
    ("8", s_with(lambda b: b.update(table_name=5)), 400,
     {"error": f"{FAILED}#/table_name: expected type: String, found: Integer"}),
    ("9", s_with(_data(id="one")), 400,
     {"error": "Record 0 did not conform to schema:\n#/id: expected type: Integer, found: String"}),
    ("10", s_with(_data(id=1.5)), 400, "Record 0 did not conform to schema"),
    ("11", s_with(lambda b: b["messages"][0]["data"].pop("id")), 400,
     {"error": "Record is missing key property id"}),
    ("13", s_with(lambda b: b["schema"]["properties"]["name"].update(type="strng")), 400,
     {"error": "Invalid JSON schema: unknown type: [strng]"}),
    ("15", s_with(lambda b: b["messages"][0].update(sequence=9223372036854775808)), 400,
     {"error": f"{FAILED}#: sequence can not be above 9223372036854775807"}),
    ("16", s_with(lambda b: b["messages"][0].pop("sequence")), 400,
     "required key [sequence] not found"),
    ("17", s_with(lambda b: b["messages"][0].update(action="delete")), 400,
     f"{FAILED}#/messages/0"),
    ("19", s_with(lambda b: b["messages"].append(
        {"action": "activate_version", "sequence": 101, "data": {}})), 400,
     "extraneous key [data] is not permitted"),
    ("20", s_with(lambda b: b.update(messages=b["messages"] * 20001)), 400,
     f"{FAILED}#/messages: expected maximum item count: 20000, found: 20001"),
    ("21", s_with(lambda b: b.update(messages=[])), 400,
     f"{FAILED}#/messages: expected minimum item count: 1, found: 0"),
    ("28", '{"table_name":', 400, "Malformed json in the body!"),
    ("not an object", [S], 400,
     {"error": f"{FAILED}#: expected type: JSONObject, found: JSONArray"}),
    ("36", s_with(lambda b: b.update(key_names=["missing_col"])), 400,
     {"error": "Record is missing key property missing_col"}),
    ("48", s_with(lambda b: (b["schema"].update(additionalProperties=False),
                             b["messages"][0]["data"].update(x=1))), 400,
     "extraneous key [x] is not permitted"),
]  # fmt: skip


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[Server, Path]]:
    """One DuckDB server for the vectors that leave no rows."""
    root = tmp_path_factory.mktemp("serve")
    database = root / "v.duckdb"
    config = write_config(root / "config.json", {"sqlalchemy_url": f"duckdb:///{database}"})
    with serving(config, root / "server.log") as server:
        yield server, database


@pytest.mark.parametrize(("vector", "body", "status", "expected"), BATCH_VECTORS,
                         ids=[v[0] for v in BATCH_VECTORS])  # fmt: skip
def test_batch_vectors(duck: tuple[Server, Path], vector: str, body: object, status: int,
                       expected: object) -> None:  # fmt: skip
    server, _ = duck
    reply = server.post("/v2/import/batch", body)
    assert reply.status == status, (vector, reply.text)
    assert reply.headers["content-type"] == "application/json"
    if isinstance(expected, dict):
        assert reply.json == expected
    else:
        assert t.cast("str", expected) in reply.text


HTTP_VECTORS: list[tuple[str, str, str, dict, int, object]] = [
    # (vector, method, path, request options, status, expected body)
    ("23", "POST", "/v2/import/batch", {"content_type": "text/plain"}, 415,
     {"status": "ERROR", "message": "Content-Type must be application/json"}),
    ("24", "POST", "/v2/import/batch", {"content_type": "application/transit+json"}, 415,
     {"status": "ERROR", "message": "Content-Type must be application/json"}),
    ("25 none", "POST", "/v2/import/batch", {"token": None}, 401, {"message": "Not Authorized"}),
    ("25 bad", "POST", "/v2/import/batch", {"token": "good-tokeN"}, 401,
     {"message": "Not Authorized"}),
    ("25 scheme", "POST", "/v2/import/batch",
     {"token": None, "headers": {"Authorization": "Basic good-token"}}, 401,
     {"message": "Not Authorized"}),
    ("29", "GET", "/v2/import/batch", {}, 405,
     {"status": "ERROR", "message": "Method not allowed."}),
    ("unknown path", "POST", "/v2/import/nothing", {}, 404,
     {"status": "ERROR", "message": "Not found: /v2/import/nothing"}),
    ("61", "POST", "/v2/import/push", {"content_type": "application/xml"}, 415,
     {"status": "ERROR", "message": "Unsupported content-type application/xml. "
      "Please send application/json or application/transit+json"}),
    ("53", "POST", "/v2/import/push", {}, 400,
     {"status": "ERROR", "message": "An array of records is expected"}),
    ("52", "POST", "/v2/import/validate", {}, 400,
     {"status": "ERROR", "message": "An array of records is expected"}),
]  # fmt: skip


@pytest.mark.parametrize(("vector", "method", "path", "options", "status", "expected"),
                         HTTP_VECTORS, ids=[v[0] for v in HTTP_VECTORS])  # fmt: skip
def test_http_vectors(  # noqa: PLR0917 - one per column of the table
    duck: tuple[Server, Path],
    vector: str,
    method: str,
    path: str,
    options: dict,
    status: int,
    expected: object,
) -> None:
    server, _ = duck
    reply = server.request(method, path, S if method == "POST" else None, **options)
    assert reply.status == status, (vector, reply.text)
    assert reply.json == expected
    if status == 405:
        assert reply.headers["allow"] == "POST"


def _push(**changes: object) -> dict:
    element = {"client_id": CLIENT, "table_name": "people", "sequence": 1, "action": "upsert",
               "key_names": ["id"], "data": {"id": 1, "name": "a"}}  # fmt: skip
    element.update(changes)
    return element


SEE = "Request cannot be processed; see errors."
PUSH_VECTORS: list[tuple[str, object, int, object]] = [
    ("54", [_push(), _push(client_id=7724)], 422,
     {"status": "ERROR", "error": SEE, "errors": [{"reason": "The batch contains data points "
      f"for multiple clients. Only client_id {CLIENT} is allowed"}]}),
    ("55", [{k: v for k, v in _push().items() if k != "client_id"}], 401,
     {"status": "ERROR", "error": "Not Authenticated.", "errors": None}),
    ("56", [_push(client_id=99)], 403,
     {"status": "ERROR", "error": "Forbidden",
      "errors": {"error": "Access token is not associated with this client."}}),
    ("58", [_push(data=[1])], 422, "data must be an object"),
    ("59", [_push(data={"id": None})], 422, "keys cannot not be null in data"),
    ("60", [_push(sequence="abc")], 422, "should be an integer"),
    ("malformed", "[{", 400, "Malformed json in the body!"),
    # Found by schemathesis: a client_id that is no integer crashed the client check.
    ("client_id mistyped", [_push(client_id={})], 422, "client_id: should be an integer"),
    ("client_id a list", [_push(client_id=[1])], 422, "client_id: should be an integer"),
]  # fmt: skip


@pytest.mark.parametrize(("vector", "body", "status", "expected"), PUSH_VECTORS,
                         ids=[v[0] for v in PUSH_VECTORS])  # fmt: skip
@pytest.mark.parametrize("path", ["/v2/import/push", "/v2/import/validate"])
def test_push_and_validate_vectors(  # noqa: PLR0917 - one per column of the table
    duck: tuple[Server, Path],
    path: str,
    vector: str,
    body: object,
    status: int,
    expected: object,
) -> None:
    server, _ = duck
    reply = server.post(path, body)
    assert reply.status == status, (vector, reply.text)
    if isinstance(expected, dict):
        assert reply.json == expected
    else:
        assert reply.json["error"] == SEE or "Malformed" in reply.text
        assert t.cast("str", expected) in reply.text


def test_status_needs_no_token_and_the_openapi_document_is_served(
    duck: tuple[Server, Path],
) -> None:
    server, _ = duck
    status = server.request("GET", "/v2/import/status", token=None)
    assert status.status == 200
    assert status.json == {"name": "pipeline.gate", "version": "0.1.0", "revision": None,
                           "status": "OK", "reason": None}  # fmt: skip
    document = server.request("GET", "/openapi.json", token=None).json
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/v2/import/batch", "/v2/import/push", "/v2/import/validate", "/v2/import/status"
    }  # fmt: skip


def test_a_body_over_the_limit_is_refused_while_it_is_read(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.json",
        {"sqlalchemy_url": f"duckdb:///{tmp_path / 'l.duckdb'}", "api_max_body_bytes": 1000},
    )
    big = s_with(_data(name="x" * 2000))
    with serving(config, tmp_path / "server.log") as server:
        # Declared too long: refused from its Content-Length.
        reply = server.post("/v2/import/batch", big)
        size = len(json.dumps(big))
        assert reply.status == 413
        assert reply.json == {
            "status": "ERROR",
            "message": f"Request rejected: request size ({size}s bytes) exceeds the maximum",
        }
        # No length given (chunked): refused once the bytes read pass the limit.
        chunks = (json.dumps(big)[i : i + 300].encode() for i in range(0, size, 300))
        reply = server.post("/v2/import/batch", chunks)
        assert reply.status == 413
        assert "exceeds the maximum" in reply.json["message"]
        assert server.post("/v2/import/batch", S).status == 201
    assert server.stop() == 0
    with duckdb.connect(str(tmp_path / "l.duckdb")) as con:
        assert con.execute("SELECT id, name FROM customers").fetchall() == [(1, "Finn")]


def test_ctrl_c_stops_the_server_with_status_0(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "c.json", {"sqlalchemy_url": f"duckdb:///{tmp_path / 'i.duckdb'}"}
    )
    with serving(config, tmp_path / "server.log") as server:
        assert server.post("/v2/import/batch", S).status == 201
        assert server.stop(signal.SIGINT) == 0
    assert "Stopped: every request answered" in (tmp_path / "server.log").read_text()


def test_a_destination_that_cannot_be_reached_is_503_and_the_server_goes_on(
    tmp_path: Path,
) -> None:
    """Nothing listens at the URL: 503 (clients retry), JSON, and the status still answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none"
    config = write_config(tmp_path / "c.json", {"sqlalchemy_url": url, "retry_seconds": 1})
    with serving(config, tmp_path / "server.log") as server:
        reply = server.post("/v2/import/batch", S)
        assert reply.status == 503
        assert reply.json["status"] == "ERROR"
        assert reply.json["message"].startswith("Service unavailable: cannot reach the destination")
        assert "check sqlalchemy_url" in reply.json["message"]
        assert server.request("GET", "/v2/import/status", token=None).status == 200
        assert server.stop() == 0
