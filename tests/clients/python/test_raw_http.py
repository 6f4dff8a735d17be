"""Raw HTTP: malformed and oversized requests, unknown routes, CORS, request ids."""

from __future__ import annotations

import json
import socket

import pytest

from liaison_harness import (CHATJS_PREFLIGHT_HEADERS, assert_raw_aws_error, raw_request, signed_request,
                             start_chat)

ORIGIN = "http://127.0.0.1:45678"
PARTICIPANT_PATHS = ["/participant/connection", "/participant/message", "/participant/event",
                     "/participant/transcript", "/participant/disconnect"]


@pytest.fixture
def c(connect, part, instance_id, flow_id):
    return start_chat(connect, instance_id, flow_id, part=part)


def bearer(tok: str) -> dict:
    return {"Content-Type": "application/json", "X-Amz-Bearer": tok}


def header_tokens(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


# ---------------------------------------------------------------------------- request ids


def test_every_response_carries_request_id(server, c):
    responses = {
        "health": raw_request(server, "GET", "/health"),
        "connect ok": signed_request(server, "GET", "/instance"),
        "connect error": signed_request(server, "GET", "/instance/00000000-0000-4000-8000-000000000000"),
        "participant ok": raw_request(server, "POST", "/participant/transcript", "{}", bearer(c.connection_token)),
        "participant error": raw_request(server, "POST", "/participant/transcript", "{}", bearer("bogus")),
        "unknown route": raw_request(server, "GET", "/no/such/route"),
        "preflight": raw_request(server, "OPTIONS", "/participant/message", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(CHATJS_PREFLIGHT_HEADERS)}),
    }
    seen = set()
    for what, r in responses.items():
        rid = r.header("x-amzn-RequestId")
        assert rid, f"{what}: no x-amzn-RequestId: {r!r}"
        assert rid not in seen, f"{what}: request id reused"
        seen.add(rid)
    assert responses["participant ok"].status == 200
    assert responses["connect ok"].status == 200


# ---------------------------------------------------------------------------- malformed / wrong types


def _assert_says_bad_json(r):
    msg = r.json()["message"].lower()
    assert any(w in msg for w in ("json", "parse", "serializ", "malformed")), \
        f"the message should say the body is not valid JSON: {r!r}"


def test_malformed_json_connect(server, instance_id):
    r = signed_request(server, "PUT", "/contact/chat", b'{"InstanceId": "' + instance_id.encode() + b'", ')
    assert_raw_aws_error(r, 400)
    _assert_says_bad_json(r)


def test_malformed_json_participant(server, c):
    r = raw_request(server, "POST", "/participant/message", '{"ContentType": "text/plain", "Content": ',
                    bearer(c.connection_token))
    assert_raw_aws_error(r, 400)
    _assert_says_bad_json(r)


def test_json_array_body(server, c):
    r = raw_request(server, "POST", "/participant/message", "[]", bearer(c.connection_token))
    assert_raw_aws_error(r, 400)


@pytest.mark.parametrize("body,member", [
    ({"ChatDurationInMinutes": "sixty"}, "ChatDurationInMinutes"),
    ({"ParticipantDetails": "Bob"}, "ParticipantDetails"),
    ({"Attributes": ["a", "b"]}, "Attributes"),
    ({"SupportedMessagingContentTypes": "text/plain"}, "SupportedMessagingContentTypes"),
])
def test_wrong_types_connect(server, instance_id, flow_id, body, member):
    full = {"InstanceId": instance_id, "ContactFlowId": flow_id, "ParticipantDetails": {"DisplayName": "x"}}
    full.update(body)
    r = signed_request(server, "PUT", "/contact/chat", json.dumps(full))
    assert_raw_aws_error(r, 400)
    # AWS spells members lowerCamelCase in validation messages ("Value at 'maxResults' ..."): ignore case
    assert member.lower() in r.json()["message"].lower(), f"message should name {member}: {r!r}"


@pytest.mark.parametrize("path,body,member", [
    ("/participant/message", {"ContentType": "text/plain", "Content": 123}, "Content"),
    ("/participant/message", {"ContentType": ["text/plain"], "Content": "x"}, "ContentType"),
    ("/participant/transcript", {"MaxResults": "ten"}, "MaxResults"),
    ("/participant/transcript", {"StartPosition": "start"}, "StartPosition"),
])
def test_wrong_types_participant(server, c, path, body, member):
    r = raw_request(server, "POST", path, json.dumps(body), bearer(c.connection_token))
    assert_raw_aws_error(r, 400)
    # AWS spells members lowerCamelCase in validation messages ("Value at 'maxResults' ..."): ignore case
    assert member.lower() in r.json()["message"].lower(), f"message should name {member}: {r!r}"


def test_empty_body_is_empty_object(server, c):
    r = raw_request(server, "POST", "/participant/transcript", b"", bearer(c.connection_token))
    assert r.status == 200, r
    assert "Transcript" in r.json()


def _send_oversized(server, path: str, headers: dict, size: int) -> tuple[int, dict, bytes]:
    """Send headers announcing `size` bytes; if the server has not answered within 1 s, send the body.
    Returns (status, headers, body) of the response, read from a raw socket."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: {size}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
        s.sendall(head.encode())
        s.settimeout(1.0)
        data = b""
        try:
            data = s.recv(65536)
        except socket.timeout:
            pass
        if not data:
            prefix = b'{"ContentType":"text/plain","Content":"'
            chunk = prefix + b"a" * (size - len(prefix) - 2) + b'"}'
            assert len(chunk) == size
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
        s.settimeout(10)
        while True:
            try:
                more = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not more:
                break
            data += more
    finally:
        s.close()
    assert data, "no response to an oversized request"
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def test_oversized_body(server, c):
    status, hdrs, body = _send_oversized(server, "/participant/message",
                                         {"Content-Type": "application/json", "X-Amz-Bearer": c.connection_token},
                                         2 * 1024 * 1024)
    assert status in (400, 413), (status, hdrs, body[:300])
    assert hdrs.get("x-amzn-requestid"), hdrs
    assert hdrs.get("x-amzn-errortype"), (status, hdrs, body[:300])
    assert raw_request(server, "GET", "/health").status == 200, "server still healthy"


def test_oversized_message_content_json(server, c):
    body = json.dumps({"ContentType": "text/plain", "Content": "b" * 40000})
    r = raw_request(server, "POST", "/participant/message", body, bearer(c.connection_token))
    assert_raw_aws_error(r, 400, {"ValidationException"})


# ---------------------------------------------------------------------------- unknown routes / methods


@pytest.mark.parametrize("method,path", [
    ("GET", "/no/such/route"),
    ("POST", "/participant/no-such-operation"),
    ("GET", "/participant/message"),
    ("DELETE", "/contact/chat"),
    ("GET", "/%ZZ"),
])
def test_unknown_routes(server, c, method, path):
    r = raw_request(server, method, path, b"{}" if method == "POST" else None, bearer(c.connection_token))
    assert_raw_aws_error(r, {400, 403, 404, 405})


def test_unknown_route_signed(server):
    r = signed_request(server, "GET", "/definitely/not/an/operation")
    assert_raw_aws_error(r, {400, 404, 405})


# ---------------------------------------------------------------------------- CORS


@pytest.mark.parametrize("path", PARTICIPANT_PATHS)
def test_cors_preflight(server, path):
    r = raw_request(server, "OPTIONS", path, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": ",".join(CHATJS_PREFLIGHT_HEADERS)})
    assert 200 <= r.status < 300, r
    allow_origin = r.header("Access-Control-Allow-Origin")
    assert allow_origin in (ORIGIN, "*"), r
    methods = header_tokens(r.header("Access-Control-Allow-Methods"))
    assert "post" in methods or "*" in methods, r
    allowed = header_tokens(r.header("Access-Control-Allow-Headers"))
    for h in CHATJS_PREFLIGHT_HEADERS:
        # A wildcard does not cover `authorization` (Fetch standard), so it must be listed.
        assert h in allowed or ("*" in allowed and h != "authorization"), f"{h} not allowed: {r!r}"


def test_cors_preflight_describe_view_path(server):
    r = raw_request(server, "OPTIONS", "/participant/views/some%2Ftoken", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": ",".join(CHATJS_PREFLIGHT_HEADERS)})
    assert 200 <= r.status < 300, r
    assert r.header("Access-Control-Allow-Origin") in (ORIGIN, "*"), r


def _assert_cors_readable(r):
    assert r.header("Access-Control-Allow-Origin") in (ORIGIN, "*"), r
    exposed = header_tokens(r.header("Access-Control-Expose-Headers"))
    assert "x-amzn-requestid" in exposed, r
    assert "x-amzn-errortype" in exposed, r


def test_cors_on_success_response(server, c):
    h = bearer(c.connection_token)
    h["Origin"] = ORIGIN
    r = raw_request(server, "POST", "/participant/message",
                    json.dumps({"ContentType": "text/plain", "Content": "from a browser"}), h)
    assert r.status == 200, r
    _assert_cors_readable(r)


def test_cors_on_error_response(server):
    h = bearer("bogus")
    h["Origin"] = ORIGIN
    r = raw_request(server, "POST", "/participant/message",
                    json.dumps({"ContentType": "text/plain", "Content": "x"}), h)
    assert_raw_aws_error(r, 403, {"AccessDeniedException"})
    _assert_cors_readable(r)


def test_keep_alive_many_requests_one_connection(server, c):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for i in range(5):
            conn.request("POST", "/participant/transcript", body=b"{}", headers=bearer(c.connection_token))
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, body
            assert not r.will_close or i == 4, "HTTP/1.1 keep-alive expected"
    finally:
        conn.close()
