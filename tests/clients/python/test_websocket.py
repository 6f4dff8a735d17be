"""The participant WebSocket, spoken frame by frame the way ChatJS speaks it."""

from __future__ import annotations

import json
import re
import time

import pytest
import websocket

from liaison_harness import ENDED, LEFT, TYPING, ChatSocket, parse_iso


def tamper_credential(url: str) -> str:
    """Change one character in the longest token-like run of the URL (the credential it carries)."""
    runs = list(re.finditer(r"[A-Za-z0-9_\-]{8,}", url.split("://", 1)[1]))
    assert runs, f"no credential-like part in {url}"
    m = max(runs, key=lambda m: len(m.group()))
    off = len(url.split("://", 1)[0]) + 3
    i = off + (m.start() + m.end()) // 2
    return url[:i] + ("x" if url[i] != "x" else "y") + url[i + 1:]


@pytest.fixture
def sockets():
    opened = []

    def open_(url, **kw):
        s = ChatSocket(url, **kw)
        opened.append(s)
        return s
    yield open_
    for s in opened:
        s.close()


def test_subscribe_heartbeat_ping(chat, sockets):
    c = chat()
    ws = sockets(c.websocket_url)
    ack = ws.subscribe()
    assert ack == {"topic": "aws/subscribe", "content": {"status": "success", "topics": ["aws/chat"]}}, ack
    for _ in range(3):
        ws.send({"topic": "aws/heartbeat"})
        hb = ws.wait_frame(lambda f: f.get("topic") == "aws/heartbeat", 5, "heartbeat answer")
        assert hb == {"topic": "aws/heartbeat"}, hb
        ws.send({"topic": "aws/ping"})
        ping = ws.wait_frame(lambda f: f.get("topic") == "aws/ping", 5, "ping answer")
        assert ping["statusCode"] == 200, ping
        assert ping["statusContent"] == "OK", ping


def test_ping_before_subscribe_like_chatjs(chat, sockets):
    """ChatJS sends subscribe, ping and heartbeat back to back without waiting."""
    c = chat()
    ws = sockets(c.websocket_url)
    ws.send({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})
    ws.send({"topic": "aws/ping"})
    ws.send({"topic": "aws/heartbeat"})
    ws.wait_frame(lambda f: f.get("topic") == "aws/subscribe" and f["content"]["status"] == "success", 5,
                  "subscribe ack")
    ws.wait_frame(lambda f: f.get("topic") == "aws/ping" and f.get("statusCode") == 200, 5, "ping answer")
    ws.wait_frame(lambda f: f.get("topic") == "aws/heartbeat", 5, "heartbeat answer")


def test_message_pushed_to_sender(chat, part, sockets):
    c = chat()
    ws = sockets(c.websocket_url)
    ws.subscribe()
    r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="echo me")
    frame = ws.wait_frame(lambda f: f.get("topic") == "aws/chat" and json.loads(f["content"]).get("Id") == r["Id"],
                          5, "the message frame")
    assert frame["contentType"] == "application/json"
    assert isinstance(frame["content"], str)
    item = json.loads(frame["content"])
    assert item["Type"] == "MESSAGE"
    assert item["Content"] == "echo me"
    assert item["ContentType"] == "text/plain"
    assert item["ParticipantId"] == c.participant_id
    assert item["ParticipantRole"] == "CUSTOMER"
    assert item["DisplayName"] == c.display_name
    assert item["ContactId"] == c.contact_id
    assert item["InitialContactId"] == c.contact_id
    assert item["AbsoluteTime"] == r["AbsoluteTime"]
    parse_iso(item["AbsoluteTime"])


def test_typing_pushed_to_sender(chat, part, sockets):
    c = chat()
    ws = sockets(c.websocket_url)
    ws.subscribe()
    r = part.send_event(ConnectionToken=c.connection_token, ContentType=TYPING)
    item = ws.wait_item(lambda i: i.get("ContentType") == TYPING, 5, "typing event")
    assert item["Type"] == "EVENT"
    assert item["Id"] == r["Id"]
    assert item["ParticipantId"] == c.participant_id
    assert item["ParticipantRole"] == "CUSTOMER"
    assert item["ContactId"] == c.contact_id and item["InitialContactId"] == c.contact_id


def test_five_sockets_all_receive(chat, part, sockets):
    c = chat()
    socks = []
    for _ in range(5):
        url = part.create_participant_connection(ParticipantToken=c.participant_token,
                                                 Type=["WEBSOCKET"])["Websocket"]["Url"]
        s = sockets(url)
        s.subscribe()
        socks.append(s)
    r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="to all five")
    for n, s in enumerate(socks):
        item = s.wait_item(lambda i: i.get("Id") == r["Id"], 5, f"message on socket {n + 1}")
        assert item["Content"] == "to all five"


def test_chats_are_isolated(chat, part, sockets):
    a, b = chat(), chat()
    wa, wb = sockets(a.websocket_url), sockets(b.websocket_url)
    wa.subscribe()
    wb.subscribe()
    ra = part.send_message(ConnectionToken=a.connection_token, ContentType="text/plain", Content="for A only")
    rb = part.send_message(ConnectionToken=b.connection_token, ContentType="text/plain", Content="for B only")
    wa.wait_item(lambda i: i.get("Id") == ra["Id"], 5, "A's message on A")
    wb.wait_item(lambda i: i.get("Id") == rb["Id"], 5, "B's message on B")
    wa.drain(0.5)
    wb.drain(0.5)
    assert all(i.get("ContactId") == a.contact_id for i in wa.items()), wa.items()
    assert all(i.get("ContactId") == b.contact_id for i in wb.items()), wb.items()
    assert ra["Id"] not in [i.get("Id") for i in wb.items()]
    assert rb["Id"] not in [i.get("Id") for i in wa.items()]


def test_disconnect_pushes_left_then_ended(chat, part, sockets):
    c = chat()
    ws = sockets(c.websocket_url)
    ws.subscribe()
    part.disconnect_participant(ConnectionToken=c.connection_token)
    left = ws.wait_item(lambda i: i.get("ContentType") == LEFT, 5, "participant.left")
    ended = ws.wait_item(lambda i: i.get("ContentType") == ENDED, 5, "chat.ended")
    assert left["Type"] == "EVENT" and ended["Type"] == "EVENT"
    assert left["ParticipantId"] == c.participant_id
    assert left["ParticipantRole"] == "CUSTOMER"
    for i in (left, ended):
        assert i["ContactId"] == c.contact_id and i["InitialContactId"] == c.contact_id, i
    order = [i.get("ContentType") for i in ws.items()]
    assert order.index(LEFT) < order.index(ENDED), order


def test_socket_with_browser_origin(chat, part, sockets):
    c = chat()
    ws = sockets(c.websocket_url, origin="http://127.0.0.1:9")
    assert ws.subscribe()["content"]["status"] == "success"
    r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="cross-origin")
    ws.wait_item(lambda i: i.get("Id") == r["Id"], 5, "message on a socket opened with an Origin")


def test_tampered_websocket_url_rejected(chat):
    c = chat()
    bad = tamper_credential(c.websocket_url)
    assert bad != c.websocket_url
    with pytest.raises((websocket.WebSocketBadStatusException, websocket.WebSocketException, ConnectionError)):
        s = websocket.create_connection(bad, timeout=5)
        # A server that accepts the upgrade must at least not treat it as this participant's socket.
        s.send(json.dumps({"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}}))
        s.settimeout(3)
        s.recv()
        s.close()
        raise AssertionError("a tampered socket URL was accepted")


def test_socket_url_without_credential_rejected(server):
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(f"ws://127.0.0.1:{server.port}/", timeout=5)


def test_socket_survives_quiet_period(chat, part, sockets):
    c = chat()
    ws = sockets(c.websocket_url)
    ws.subscribe()
    time.sleep(2.5)
    ws.send({"topic": "aws/heartbeat"})
    ws.wait_frame(lambda f: f.get("topic") == "aws/heartbeat", 5, "heartbeat after a quiet period")
    r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="later")
    ws.wait_item(lambda i: i.get("Id") == r["Id"], 5, "message after a quiet period")
