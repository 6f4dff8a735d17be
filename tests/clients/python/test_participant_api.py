"""Participant API (X-Amz-Bearer) through boto3 `connectparticipant`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from liaison_harness import (DELIVERED, ENDED, INTERACTIVE_RESPONSE, LEFT, READ, TYPING, ChatSocket,
                             aws_error, new_token, now_utc, parse_iso, start_chat, transcript_all,
                             url_with_port)

ALL_TYPES = ["text/plain", "text/markdown", "application/json", INTERACTIVE_RESPONSE]


# ---------------------------------------------------------------------------- CreateParticipantConnection


def test_create_participant_connection_both_types(server, chat):
    c = chat()
    conn = c.connection
    ws, creds = conn["Websocket"], conn["ConnectionCredentials"]
    host, port = url_with_port(ws["Url"])
    assert ws["Url"].startswith(f"ws://127.0.0.1:{server.port}/"), ws["Url"]
    assert (host, port) == ("127.0.0.1", server.port)
    now = now_utc()
    conn_expiry = parse_iso(ws["ConnectionExpiry"])
    assert now + dt.timedelta(seconds=30) < conn_expiry < now + dt.timedelta(seconds=300), \
        f"ConnectionExpiry should be ~100 s ahead: {ws['ConnectionExpiry']}"
    expiry = parse_iso(creds["Expiry"])
    assert now + dt.timedelta(hours=23) < expiry < now + dt.timedelta(hours=25), \
        f"Expiry should be ~1 day ahead: {creds['Expiry']}"
    assert creds["ConnectionToken"] and creds["ConnectionToken"] != c.participant_token


def test_create_participant_connection_websocket_only(server, connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, connect_participant=False)
    r = part.create_participant_connection(ParticipantToken=c.participant_token, Type=["WEBSOCKET"])
    assert r["Websocket"]["Url"].startswith(f"ws://127.0.0.1:{server.port}/")
    assert "ConnectionCredentials" not in r, r


def test_create_participant_connection_credentials_only(connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, connect_participant=False)
    r = part.create_participant_connection(ParticipantToken=c.participant_token, Type=["CONNECTION_CREDENTIALS"])
    assert r["ConnectionCredentials"]["ConnectionToken"]
    assert "Websocket" not in r, r


def test_create_participant_connection_connect_participant_flag(connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, connect_participant=False)
    r = part.create_participant_connection(ParticipantToken=c.participant_token,
                                           Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"], ConnectParticipant=True)
    assert r["ConnectionCredentials"]["ConnectionToken"] and r["Websocket"]["Url"]


def test_create_participant_connection_repeatable_and_old_tokens_stay_valid(chat, part):
    c = chat()
    again = part.create_participant_connection(ParticipantToken=c.participant_token,
                                               Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    tok2 = again["ConnectionCredentials"]["ConnectionToken"]
    assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="old")["Id"]
    assert part.send_message(ConnectionToken=tok2, ContentType="text/plain", Content="new")["Id"]


def test_create_participant_connection_with_connection_token_denied(chat, part1):
    c = chat()
    with aws_error("AccessDeniedException", 403):
        part1.create_participant_connection(ParticipantToken=c.connection_token,
                                            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])


def test_create_participant_connection_bogus_token_denied(part1):
    with aws_error("AccessDeniedException", 403):
        part1.create_participant_connection(ParticipantToken="not-a-real-token",
                                            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])


def test_create_participant_connection_bad_type(chat, part_raw):
    c = chat()
    with aws_error("ValidationException", 400):
        part_raw.create_participant_connection(ParticipantToken=c.participant_token, Type=["CARRIER_PIGEON"])


# ---------------------------------------------------------------------------- SendMessage


def test_send_message_plain(chat, part):
    c = chat()
    before = now_utc() - dt.timedelta(seconds=5)
    r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="hello")
    assert r["Id"]
    t = parse_iso(r["AbsoluteTime"])
    assert before < t < now_utc() + dt.timedelta(seconds=5)
    items = transcript_all(part, c.connection_token)
    (m,) = [i for i in items if i["Id"] == r["Id"]]
    assert m["Type"] == "MESSAGE"
    assert m["Content"] == "hello"
    assert m["ContentType"] == "text/plain"
    assert m["ParticipantId"] == c.participant_id
    assert m["ParticipantRole"] == "CUSTOMER"
    assert m["DisplayName"] == c.display_name
    assert m["AbsoluteTime"] == r["AbsoluteTime"]


@pytest.mark.parametrize("ctype,content", [
    ("text/plain", "plain"),
    ("text/markdown", "**bold**"),
    ("application/json", json.dumps({"k": [1, 2, 3]})),
    (INTERACTIVE_RESPONSE, json.dumps({"templateIdentifier": "t1", "data": {"content": {"title": "Yes"}}})),
])
def test_send_message_types_allowed_when_supported(chat, part, ctype, content):
    c = chat(SupportedMessagingContentTypes=ALL_TYPES)
    r = part.send_message(ConnectionToken=c.connection_token, ContentType=ctype, Content=content)
    items = transcript_all(part, c.connection_token)
    (m,) = [i for i in items if i["Id"] == r["Id"]]
    assert (m["ContentType"], m["Content"]) == (ctype, content)


@pytest.mark.parametrize("ctype,content", [
    ("text/markdown", "**bold**"),
    ("application/json", "{}"),
    (INTERACTIVE_RESPONSE, "{}"),
])
def test_send_message_types_rejected_when_not_supported(chat, part1, ctype, content):
    c = chat(SupportedMessagingContentTypes=["text/plain"])
    with aws_error("ValidationException", 400):
        part1.send_message(ConnectionToken=c.connection_token, ContentType=ctype, Content=content)


def test_send_message_plain_without_supported_list(chat, part):
    c = chat()
    assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="x")["Id"]


@pytest.mark.parametrize("ctype", ["image/png", "text/html", TYPING])
def test_send_message_unknown_type_rejected(chat, part1, ctype):
    c = chat(SupportedMessagingContentTypes=ALL_TYPES)
    with aws_error("ValidationException", 400):
        part1.send_message(ConnectionToken=c.connection_token, ContentType=ctype, Content="x")


def test_send_message_size_limit_bytes(chat, part, part_raw):
    c = chat()
    ok = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="a" * 16384)
    assert ok["Id"]
    with aws_error("ValidationException", 400):
        part_raw.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="a" * 16385)
    # 8193 two-byte characters = 16386 bytes
    with aws_error("ValidationException", 400):
        part_raw.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="é" * 8193)
    # 8192 two-byte characters = exactly 16384 bytes
    assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="é" * 8192)["Id"]


def test_send_message_empty_content_rejected(chat, part_raw):
    c = chat()
    with aws_error("ValidationException", 400):
        part_raw.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="")


def test_send_message_missing_content_type_rejected(chat, part_raw):
    c = chat()
    with aws_error("ValidationException", 400, message_contains="ContentType"):
        part_raw.send_message(ConnectionToken=c.connection_token, Content="x")


def test_send_message_client_token_idempotent(chat, part):
    c = chat()
    token = new_token()
    r1 = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="once",
                           ClientToken=token)
    r2 = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="once",
                           ClientToken=token)
    assert r2["Id"] == r1["Id"]
    assert r2["AbsoluteTime"] == r1["AbsoluteTime"]
    r3 = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="once",
                           ClientToken=new_token())
    assert r3["Id"] != r1["Id"]
    onces = [i for i in transcript_all(part, c.connection_token) if i.get("Content") == "once"]
    assert sorted(i["Id"] for i in onces) == sorted({r1["Id"], r3["Id"]}), onces


def test_send_message_with_participant_token_denied(chat, part1):
    c = chat()
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.participant_token, ContentType="text/plain", Content="x")


def test_send_message_bogus_token_denied(part1):
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken="bogus", ContentType="text/plain", Content="x")


# ---------------------------------------------------------------------------- SendEvent


def test_send_event_typing_not_in_transcript(chat, part):
    c = chat()
    r = part.send_event(ConnectionToken=c.connection_token, ContentType=TYPING)
    assert r["Id"]
    parse_iso(r["AbsoluteTime"])
    items = transcript_all(part, c.connection_token)
    assert not [i for i in items if i.get("ContentType") == TYPING or i["Id"] == r["Id"]], items


@pytest.mark.parametrize("receipt", [READ, DELIVERED])
def test_send_event_receipts_are_metadata_and_never_deduplicated(chat, part, receipt):
    c = chat()
    msg = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="read me")
    ws = ChatSocket(c.websocket_url)
    try:
        ws.subscribe()
        constant = "INCOMING_READ_RECEIPT" if receipt == READ else "INCOMING_DELIVERED_RECEIPT"
        content = json.dumps({"messageId": msg["Id"]})
        e1 = part.send_event(ConnectionToken=c.connection_token, ContentType=receipt, Content=content,
                             ClientToken=constant)
        e2 = part.send_event(ConnectionToken=c.connection_token, ContentType=receipt, Content=content,
                             ClientToken=constant)
        assert e1["Id"] and e2["Id"] and e1["Id"] != e2["Id"], "receipts must not be de-duplicated"
        stamp = "ReadTimestamp" if receipt == READ else "DeliveredTimestamp"
        for _ in range(2):
            item = ws.wait_item(lambda i: i.get("Type") == "MESSAGEMETADATA", 5, "MESSAGEMETADATA item")
            md = item["MessageMetadata"]
            assert md["MessageId"] == msg["Id"], item
            (rc,) = md["Receipts"]
            assert rc["RecipientParticipantId"] == c.participant_id, item
            parse_iso(rc[stamp])
    finally:
        ws.close()


def test_send_event_receipt_with_extra_keys_like_chatjs(chat, part):
    c = chat()
    msg = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="m")
    r = part.send_event(ConnectionToken=c.connection_token, ContentType=DELIVERED, ClientToken="INCOMING_DELIVERED_RECEIPT",
                        Content=json.dumps({"messageId": msg["Id"], "disableThrottle": True}))
    assert r["Id"]


@pytest.mark.parametrize("ctype", ["text/plain", ENDED, LEFT, "application/vnd.amazonaws.connect.event.bogus"])
def test_send_event_bad_content_type(chat, part1, ctype):
    c = chat()
    with aws_error("ValidationException", 400):
        part1.send_event(ConnectionToken=c.connection_token, ContentType=ctype)


def test_send_event_content_too_large(chat, part_raw):
    c = chat()
    with aws_error("ValidationException", 400):
        part_raw.send_event(ConnectionToken=c.connection_token, ContentType=READ,
                            Content=json.dumps({"messageId": "m", "pad": "x" * 16400}))


def test_send_event_with_participant_token_denied(chat, part1):
    c = chat()
    with aws_error("AccessDeniedException", 403):
        part1.send_event(ConnectionToken=c.participant_token, ContentType=TYPING)


# ---------------------------------------------------------------------------- DisconnectParticipant


def test_disconnect_customer_ends_chat_and_revokes_tokens(chat, connect, part, part1, instance_id):
    c = chat()
    extra = part.create_participant_connection(ParticipantToken=c.participant_token,
                                               Type=["CONNECTION_CREDENTIALS"])["ConnectionCredentials"]
    part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="bye")
    r = part.disconnect_participant(ConnectionToken=c.connection_token)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200

    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert isinstance(contact.get("DisconnectTimestamp"), dt.datetime), contact

    for tok in (c.connection_token, extra["ConnectionToken"]):
        with aws_error("AccessDeniedException", 403):
            part1.send_message(ConnectionToken=tok, ContentType="text/plain", Content="still here?")
        with aws_error("AccessDeniedException", 403):
            part1.send_event(ConnectionToken=tok, ContentType=TYPING)
        with aws_error("AccessDeniedException", 403):
            part1.get_transcript(ConnectionToken=tok)
        with aws_error("AccessDeniedException", 403):
            part1.disconnect_participant(ConnectionToken=tok)
    with aws_error("AccessDeniedException", 403):
        part1.create_participant_connection(ParticipantToken=c.participant_token,
                                            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])


def test_disconnect_with_participant_token_denied(chat, part1):
    c = chat()
    with aws_error("AccessDeniedException", 403):
        part1.disconnect_participant(ConnectionToken=c.participant_token)


def test_missing_bearer_rejected(chat, server):
    from liaison_harness import assert_raw_aws_error, raw_request
    r = raw_request(server, "POST", "/participant/message",
                    body=json.dumps({"ContentType": "text/plain", "Content": "who am i"}),
                    headers={"Content-Type": "application/json"})
    assert_raw_aws_error(r, {400, 403}, {"ValidationException", "AccessDeniedException"})
