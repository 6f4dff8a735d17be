"""Shared helpers for the Liaison real-client tests.

Starts and stops the `liaison` binary, builds boto3 clients pointed at it, sends raw (optionally
SigV4-signed) HTTP requests, and drives raw WebSocket connections the way ChatJS does.
Nothing here builds the binary: `scripts/test.sh` does that before pytest runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import boto3
import botocore
import pytest
import websocket  # websocket-client
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO_ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"

TYPING = "application/vnd.amazonaws.connect.event.typing"
READ = "application/vnd.amazonaws.connect.event.message.read"
DELIVERED = "application/vnd.amazonaws.connect.event.message.delivered"
JOINED = "application/vnd.amazonaws.connect.event.participant.joined"
LEFT = "application/vnd.amazonaws.connect.event.participant.left"
ENDED = "application/vnd.amazonaws.connect.event.chat.ended"
INTERACTIVE_RESPONSE = "application/vnd.amazonaws.connect.message.interactive.response"

ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")

# Headers ChatJS's bundled SDK asks for in its CORS preflight (Chromium capture).
CHATJS_PREFLIGHT_HEADERS = [
    "authorization",
    "content-type",
    "x-amz-bearer",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-user-agent",
]


def liaison_bin() -> Path:
    p = Path(os.environ.get("LIAISON_BIN", "target/debug/liaison"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def log_dir() -> Path:
    d = Path(os.environ.get("LIAISON_TEST_LOG_DIR", REPO_ROOT / "target" / "client-test-logs"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


class LiaisonServer:
    """One `liaison serve` process on 127.0.0.1 with its own data directory."""

    def __init__(self, data_dir: Path, log_path: Path, timer_minute_ms: int = 100):
        self.bin = liaison_bin()
        self.data_dir = data_dir
        self.log_path = log_path
        self.access_key = "AKLIAISON" + secrets.token_hex(6).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.timer_minute_ms = timer_minute_ms
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env["LIAISON_ACCESS_KEY_ID"] = self.access_key
        env["LIAISON_SECRET_ACCESS_KEY"] = self.secret_key
        env["LIAISON_TIMER_MINUTE_MS"] = str(self.timer_minute_ms)
        env.setdefault("RUST_BACKTRACE", "1")
        return env

    def start(self, port: int | None = None, timeout: float = 20.0) -> None:
        if not self.bin.exists():
            pytest.fail(f"liaison binary not found at {self.bin}; build it with `cargo build -p liaison` "
                        f"or set LIAISON_BIN", pytrace=False)
        self.port = port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {dt.datetime.now().isoformat()} port {self.port}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [str(self.bin), "serve", "--listen", f"127.0.0.1:{self.port}", "--data", str(self.data_dir)],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail_start(f"liaison exited with code {self.proc.returncode} before /health answered")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
                last = f"status {r.status}"
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        self.kill()
        self._fail_start(f"GET /health did not answer 200 within {timeout:.0f} s (last: {last})")

    def _fail_start(self, why: str) -> None:
        tail = self.log_tail()
        pytest.fail(f"{why}\n--- server log {self.log_path} (tail) ---\n{tail}", pytrace=False)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """kill -9, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart_after_crash(self) -> None:
        port = self.port
        self.kill()
        self.start(port=port)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ---- clients ------------------------------------------------------------------------

    def client(self, service: str, *, retries: bool = True, validate: bool = True,
               access_key: str | None = None, secret_key: str | None = None,
               region: str = REGION, unsigned: bool = False):
        cfg = {"parameter_validation": validate}
        if not retries:
            cfg["retries"] = {"total_max_attempts": 1}
        if unsigned:
            cfg["signature_version"] = botocore.UNSIGNED
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=access_key if access_key is not None else self.access_key,
            aws_secret_access_key=secret_key if secret_key is not None else self.secret_key,
            config=Config(**cfg),
        )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def aws_error(codes: str | Iterable[str], status: int | Iterable[int] | None = None,
              message_contains: str | Iterable[str] | None = None):
    """Expect a botocore ClientError with one of `codes` and the given HTTP status.

    Also checks what every AWS error must carry: a message, the x-amzn-ErrorType header and a
    request id. Yields a holder whose `.error` is the ClientError afterwards.
    """
    codes = {codes} if isinstance(codes, str) else set(codes)
    statuses = None if status is None else ({status} if isinstance(status, int) else set(status))

    class Holder:
        error: ClientError | None = None

    h = Holder()
    with pytest.raises(ClientError) as ei:
        yield h
    e = ei.value
    h.error = e
    err = e.response.get("Error", {})
    meta = e.response.get("ResponseMetadata", {})
    got = f"code={err.get('Code')!r} status={meta.get('HTTPStatusCode')} message={err.get('Message')!r}"
    assert err.get("Code") in codes, f"expected {sorted(codes)}, got {got}"
    if statuses is not None:
        assert meta.get("HTTPStatusCode") in statuses, f"expected status {sorted(statuses)}, got {got}"
    assert err.get("Message"), f"error has no message: {got}"
    headers = meta.get("HTTPHeaders", {})
    assert headers.get("x-amzn-errortype", "").split(":")[0] == err.get("Code"), \
        f"x-amzn-ErrorType header {headers.get('x-amzn-errortype')!r} does not match {got}"
    assert meta.get("RequestId"), f"no x-amzn-RequestId on error response: {got}"
    if message_contains is not None:
        needles = [message_contains] if isinstance(message_contains, str) else list(message_contains)
        for n in needles:
            assert n.lower() in err["Message"].lower(), f"message should mention {n!r}: {got}"


def parse_iso(s: str) -> dt.datetime:
    assert isinstance(s, str) and ISO_RE.match(s), f"not an ISO-8601 UTC timestamp: {s!r}"
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def strip_meta(r: dict) -> dict:
    return {k: v for k, v in r.items() if k != "ResponseMetadata"}


# --------------------------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: Any  # http.client.HTTPMessage (case-insensitive .get)
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def __repr__(self) -> str:
        return f"<{self.status} {dict(self.headers)} {self.body[:300]!r}>"


def raw_request(server: LiaisonServer, method: str, path: str, body: bytes | str | None = None,
                headers: dict | None = None, timeout: float = 10) -> RawResponse:
    if isinstance(body, str):
        body = body.encode()
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return RawResponse(r.status, r.headers, data)
    finally:
        c.close()


def signed_request(server: LiaisonServer, method: str, path: str, body: bytes | str = b"",
                   headers: dict | None = None, *, service: str = "connect", region: str = REGION,
                   access_key: str | None = None, secret_key: str | None = None) -> RawResponse:
    """A request SigV4-signed exactly as botocore signs it (service `connect` by default)."""
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    req = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=hdrs)
    creds = Credentials(access_key or server.access_key, secret_key or server.secret_key)
    SigV4Auth(creds, service, region).add_auth(req)
    prepared = req.prepare()
    out = dict(prepared.headers.items())
    out["Host"] = f"127.0.0.1:{server.port}"
    return raw_request(server, method, path, body=body, headers=out)


def assert_raw_aws_error(r: RawResponse, status: int | Iterable[int], codes: Iterable[str] | None = None) -> str:
    """Check the AWS error envelope: status, x-amzn-ErrorType, JSON body with __type/message/Message."""
    statuses = {status} if isinstance(status, int) else set(status)
    assert r.status in statuses, f"expected status {sorted(statuses)}, got {r!r}"
    assert r.header("x-amzn-RequestId"), f"no x-amzn-RequestId: {r!r}"
    etype = r.header("x-amzn-ErrorType")
    assert etype, f"no x-amzn-ErrorType header: {r!r}"
    code = etype.split(":")[0]
    assert code and not code.isdigit(), f"error type must be a name: {r!r}"
    ctype = r.header("Content-Type") or ""
    assert "json" in ctype, f"error body should be JSON, Content-Type {ctype!r}: {r!r}"
    body = r.json()
    assert isinstance(body, dict), f"error body not an object: {r!r}"
    assert body.get("__type", "").split("#")[-1] == code, f"__type does not match x-amzn-ErrorType: {r!r}"
    assert isinstance(body.get("message"), str) and body["message"], f"no body.message: {r!r}"
    assert isinstance(body.get("Message"), str) and body["Message"], f"no body.Message: {r!r}"
    if codes is not None:
        assert code in set(codes), f"expected one of {sorted(set(codes))}, got {code}: {r!r}"
    return code


# --------------------------------------------------------------------------------------------
# Chats
# --------------------------------------------------------------------------------------------


@dataclass
class Chat:
    contact_id: str
    participant_id: str
    participant_token: str
    display_name: str
    connection_token: str | None = None
    websocket_url: str | None = None
    connection: dict = field(default_factory=dict)


def start_chat(connect, instance_id: str, flow_id: str, *, display_name: str = "Customer",
               connect_participant: bool = True, part=None, **kw) -> Chat:
    r = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                   ParticipantDetails={"DisplayName": display_name}, **kw)
    chat = Chat(r["ContactId"], r["ParticipantId"], r["ParticipantToken"], display_name)
    if connect_participant:
        assert part is not None
        c = part.create_participant_connection(ParticipantToken=chat.participant_token,
                                               Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
        chat.connection = c
        chat.connection_token = c["ConnectionCredentials"]["ConnectionToken"]
        chat.websocket_url = c["Websocket"]["Url"]
    return chat


def transcript_all(part, token: str, **kw) -> list[dict]:
    r = part.get_transcript(ConnectionToken=token, MaxResults=100, SortOrder="ASCENDING", **kw)
    assert "NextToken" not in r, "test chats stay below 100 items"
    return r["Transcript"]


def wait_until(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# WebSocket (the protocol ChatJS speaks)
# --------------------------------------------------------------------------------------------


class ChatSocket:
    """A raw participant WebSocket. Keeps every frame it has read in `frames` (parsed JSON)."""

    def __init__(self, url: str, origin: str | None = None, timeout: float = 10):
        kw = {"timeout": timeout}
        if origin:
            kw["origin"] = origin
        self.ws = websocket.create_connection(url, **kw)
        self.frames: list[dict] = []
        self._consumed: set[int] = set()
        self.closed = False

    def send(self, obj: dict) -> None:
        self.ws.send(json.dumps(obj))

    def _read_one(self, timeout: float) -> dict | None:
        if self.closed:
            time.sleep(min(timeout, 0.05))
            return None
        self.ws.settimeout(max(timeout, 0.01))
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            self.closed = True
            return None
        if raw in ("", b""):
            # websocket-client returns "" for a close frame
            if not self.ws.connected:
                self.closed = True
            return None
        frame = json.loads(raw)
        self.frames.append(frame)
        return frame

    def wait_frame(self, pred: Callable[[dict], bool], timeout: float = 5, what: str = "frame") -> dict:
        """First frame (read now or earlier but not yet consumed) matching pred; consumes it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, f in enumerate(self.frames):
                if i not in self._consumed and pred(f):
                    self._consumed.add(i)
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed and left > 0 and not self._pending(pred)):
                if self.closed:
                    raise AssertionError(f"socket closed by the server while waiting for {what}; "
                                         f"frames received: {self.frames}")
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; frames so far: {self.frames}")
            self._read_one(left)

    def _pending(self, pred) -> bool:
        return any(i not in self._consumed and pred(f) for i, f in enumerate(self.frames))

    def wait_item(self, pred: Callable[[dict], bool], timeout: float = 5, what: str = "chat item") -> dict:
        """The decoded item of the next aws/chat frame matching pred."""
        def match(f):
            if f.get("topic") != "aws/chat":
                return False
            return pred(chat_item(f))
        return chat_item(self.wait_frame(match, timeout, what))

    def items(self) -> list[dict]:
        return [chat_item(f) for f in self.frames if f.get("topic") == "aws/chat"]

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.closed:
            self._read_one(deadline - time.monotonic())

    def subscribe(self) -> dict:
        self.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
        return self.wait_frame(lambda f: f.get("topic") == "aws/subscribe", 5, "aws/subscribe answer")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def chat_item(frame: dict) -> dict:
    assert frame.get("contentType") == "application/json", f"aws/chat frame contentType: {frame}"
    assert isinstance(frame.get("content"), str), f"aws/chat content must be a JSON string: {frame}"
    return json.loads(frame["content"])


def new_token() -> str:
    return str(uuid.uuid4())


def url_with_port(url: str) -> tuple[str, int | None]:
    u = urllib.parse.urlsplit(url)
    return u.hostname or "", u.port


QUIET_FLOW_NAME = "Quiet test flow"

# A flow that says nothing and waits a week before it disconnects, so tests see only their own
# chat traffic (the built-in chat flow greets and queues).
QUIET_FLOW = json.dumps({
    "Version": "2019-10-30",
    "StartAction": "wait",
    "Actions": [
        {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "604800"},
         "Transitions": {"Conditions": [{"NextAction": "end", "Condition": {"Operator": "Equals", "Operands": ["WaitCompleted"]}}],
                         "Errors": [{"NextAction": "end", "ErrorType": "NoMatchingError"}]}},
        {"Identifier": "end", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
    ],
})


def quiet_flow(connect, instance_id: str) -> str:
    """The id of the quiet test flow, created through CreateContactFlow on first use."""
    for f in connect.list_contact_flows(InstanceId=instance_id)["ContactFlowSummaryList"]:
        if f["Name"] == QUIET_FLOW_NAME:
            return f["Id"]
    try:
        return connect.create_contact_flow(InstanceId=instance_id, Name=QUIET_FLOW_NAME, Type="CONTACT_FLOW",
                                           Content=QUIET_FLOW)["ContactFlowId"]
    except connect.exceptions.DuplicateResourceException:
        return quiet_flow(connect, instance_id)
