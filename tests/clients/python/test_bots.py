"""Custom bot participants (CreateParticipant with CUSTOM_BOT) and chat timers
(UpdateParticipantRoleConfig), through boto3 and raw WebSockets against the real binary.

This module starts its own server with LIAISON_TIMER_MINUTE_MS=1200 (see the `server` fixture
below): one timer minute lasts 1.2 s, so 2-minute timers take 2.4 s and the 15-second window a
custom participant has to call CreateParticipantConnection lasts 300 ms, comfortably more than a
boto3 round trip to a local server.

Timed tests wait on WebSocket events with generous timeouts and only check lower bounds loosely.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

from liaison_harness import (JOINED, LEFT, READ, TYPING, ChatSocket, LiaisonServer, aws_error, log_dir,
                             parse_iso, strip_meta, transcript_all)

TIMER_MINUTE_MS = 1200
MINUTE_S = TIMER_MINUTE_MS / 1000
CONNECT_WINDOW_S = 15 * TIMER_MINUTE_MS / 60_000  # 0.3 s

IDLE = "application/vnd.amazonaws.connect.event.participant.idle"
RETURNED = "application/vnd.amazonaws.connect.event.participant.returned"
AUTO_DISCONNECTION = "application/vnd.amazonaws.connect.event.participant.autodisconnection"
TIMER_EVENTS = (IDLE, RETURNED, AUTO_DISCONNECTION)


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Overrides conftest's server: this module needs a longer timer minute."""
    data = tmp_path_factory.mktemp("test_bots-data")
    log = log_dir() / "test_bots.log"
    log.write_bytes(b"")
    srv = LiaisonServer(data / "data", log, timer_minute_ms=TIMER_MINUTE_MS)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sockets():
    """Opens subscribed ChatSockets and closes them after the test."""
    opened = []

    def open_(url: str) -> ChatSocket:
        s = ChatSocket(url)
        opened.append(s)
        ack = s.subscribe()
        assert ack["content"]["status"] == "success", ack
        return s
    yield open_
    for s in opened:
        s.close()


@dataclass
class Bot:
    participant_id: str
    participant_token: str
    connection_token: str | None = None
    websocket_url: str | None = None


def create_bot(connect, instance_id: str, contact_id: str, *, name: str = "Helper bot", **kw) -> Bot:
    r = connect.create_participant(InstanceId=instance_id, ContactId=contact_id,
                                   ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": name}, **kw)
    return Bot(r["ParticipantId"], r["ParticipantCredentials"]["ParticipantToken"])


def connect_bot(part, bot: Bot, *, types=("WEBSOCKET", "CONNECTION_CREDENTIALS"), join: bool = True) -> Bot:
    kw = {"ConnectParticipant": True} if join else {}
    c = part.create_participant_connection(ParticipantToken=bot.participant_token, Type=list(types), **kw)
    if "ConnectionCredentials" in c:
        bot.connection_token = c["ConnectionCredentials"]["ConnectionToken"]
    if "Websocket" in c:
        bot.websocket_url = c["Websocket"]["Url"]
    return bot


def add_bot(connect, part, instance_id: str, contact_id: str, **kw) -> Bot:
    """CreateParticipant, then at once CreateParticipantConnection with ConnectParticipant."""
    return connect_bot(part, create_bot(connect, instance_id, contact_id, **kw))


def timer(role: str, kind: str, minutes: int | None) -> dict:
    value = {"ParticipantTimerAction": "Unset"} if minutes is None else {"ParticipantTimerDurationInMinutes": minutes}
    return {"ParticipantRole": role, "TimerType": kind, "TimerValue": value}


def set_timers(connect, instance_id: str, contact_id: str, settings: list[dict]) -> dict:
    return connect.update_participant_role_config(
        InstanceId=instance_id, ContactId=contact_id,
        ChannelConfiguration={"Chat": {"ParticipantTimerConfigList": settings}})


def of_type(content_type: str):
    return lambda i: i.get("ContentType") == content_type


def item_index(ws: ChatSocket, item_id: str) -> int:
    return [i.get("Id") for i in ws.items()].index(item_id)


# --------------------------------------------------------------------------------------------
# 1. CreateParticipant
# --------------------------------------------------------------------------------------------


def test_create_participant_happy_path_replay_and_refusals(connect, connect1, part, chat, instance_id):
    c = chat()
    r = connect.create_participant(InstanceId=instance_id, ContactId=c.contact_id, ClientToken="bot-once",
                                   ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(strip_meta(r)) == {"ParticipantCredentials", "ParticipantId"}, r
    creds = r["ParticipantCredentials"]
    assert creds["ParticipantToken"] and isinstance(creds["ParticipantToken"], str)
    parse_iso(creds["Expiry"])
    assert r["ParticipantId"] not in (c.participant_id, "")

    # The same ClientToken and request: the same participant (its token is a fresh one).
    again = connect.create_participant(InstanceId=instance_id, ContactId=c.contact_id, ClientToken="bot-once",
                                       ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"})
    assert again["ParticipantId"] == r["ParticipantId"]
    parse_iso(again["ParticipantCredentials"]["Expiry"])
    # The same ClientToken with another request is refused.
    with aws_error("InvalidRequestException", 400):
        connect1.create_participant(InstanceId=instance_id, ContactId=c.contact_id, ClientToken="bot-once",
                                    ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Other"})

    # A second custom participant while the first holds its place (it may still connect).
    with aws_error("ServiceQuotaExceededException", 402):
        create_bot(connect1, instance_id, c.contact_id, name="Second bot")

    # Only CUSTOM_BOT participants are added this way.
    other = chat()
    for role in ("AGENT", "CUSTOMER", "SUPERVISOR", "SYSTEM"):
        with aws_error("InvalidRequestException", 400):
            connect1.create_participant(InstanceId=instance_id, ContactId=other.contact_id,
                                        ParticipantDetails={"ParticipantRole": role, "DisplayName": "X"})

    # Unknown contact.
    with aws_error("ResourceNotFoundException", 404):
        create_bot(connect1, instance_id, "3f1f6a53-5d9c-4d5e-9a0f-6f2f2f1d0c11")

    # Ended contact.
    part.disconnect_participant(ConnectionToken=other.connection_token)
    with aws_error("InvalidRequestException", 400):
        create_bot(connect1, instance_id, other.contact_id)

    # Once the first bot's connection window is past without it connecting, its place is free
    # for another custom participant.
    time.sleep(CONNECT_WINDOW_S + 0.3)
    replacement = create_bot(connect, instance_id, c.contact_id, name="Replacement")
    assert replacement.participant_id != r["ParticipantId"]


# --------------------------------------------------------------------------------------------
# 2. A bot talks with the customer
# --------------------------------------------------------------------------------------------


def test_bot_joins_talks_with_the_customer_and_leaves_without_ending_the_chat(
        connect, part, part1, chat, instance_id, sockets):
    c = chat()
    customer = sockets(c.websocket_url)

    bot = add_bot(connect, part, instance_id, c.contact_id, name="Helper bot")
    assert bot.connection_token and bot.websocket_url
    joined = customer.wait_item(of_type(JOINED), 5, "participant.joined of the bot")
    assert joined["Type"] == "EVENT"
    assert joined["ParticipantId"] == bot.participant_id
    assert joined["ParticipantRole"] == "CUSTOM_BOT"
    assert joined["DisplayName"] == "Helper bot"
    assert joined["ContactId"] == c.contact_id
    bot_ws = sockets(bot.websocket_url)

    # The bot speaks; the customer hears.
    hello = part.send_message(ConnectionToken=bot.connection_token, ContentType="text/plain",
                              Content="How can I help?")
    got = customer.wait_item(lambda i: i.get("Id") == hello["Id"], 5, "the bot's message on the customer's socket")
    assert got["Type"] == "MESSAGE" and got["Content"] == "How can I help?"
    assert got["ParticipantId"] == bot.participant_id
    assert got["ParticipantRole"] == "CUSTOM_BOT"
    assert got["DisplayName"] == "Helper bot"

    # The customer speaks; the bot hears.
    order = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="My order")
    got = bot_ws.wait_item(lambda i: i.get("Id") == order["Id"], 5, "the customer's message on the bot's socket")
    assert got["Content"] == "My order" and got["ParticipantRole"] == "CUSTOMER"
    assert got["ParticipantId"] == c.participant_id

    # Typing and a read receipt from the bot reach the customer.
    typing = part.send_event(ConnectionToken=bot.connection_token, ContentType=TYPING)
    got = customer.wait_item(lambda i: i.get("Id") == typing["Id"], 5, "the bot's typing event")
    assert got["ContentType"] == TYPING and got["Type"] == "EVENT"
    assert got["ParticipantId"] == bot.participant_id and got["ParticipantRole"] == "CUSTOM_BOT"
    part.send_event(ConnectionToken=bot.connection_token, ContentType=READ,
                    Content=json.dumps({"messageId": order["Id"]}))
    receipt = customer.wait_item(lambda i: i.get("Type") == "MESSAGEMETADATA", 5, "the bot's read receipt")
    md = receipt["MessageMetadata"]
    assert md["MessageId"] == order["Id"], receipt
    (rc,) = md["Receipts"]
    assert rc["RecipientParticipantId"] == bot.participant_id, receipt
    parse_iso(rc["ReadTimestamp"])

    # The bot leaves: participant.left, and the chat goes on.
    part.disconnect_participant(ConnectionToken=bot.connection_token)
    left = customer.wait_item(of_type(LEFT), 5, "participant.left of the bot")
    assert left["ParticipantId"] == bot.participant_id and left["ParticipantRole"] == "CUSTOM_BOT"
    still = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="still here")
    customer.wait_item(lambda i: i.get("Id") == still["Id"], 5, "the customer's message after the bot left")
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert "DisconnectTimestamp" not in contact, contact
    assert not [i for i in customer.items() if i.get("ContentType") == LEFT and i["ParticipantId"] == c.participant_id]
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=bot.connection_token, ContentType="text/plain", Content="again")

    # Its place is free again: another bot joins.
    second = add_bot(connect, part, instance_id, c.contact_id, name="Second bot")
    joined = customer.wait_item(of_type(JOINED), 5, "participant.joined of the second bot")
    assert joined["ParticipantId"] == second.participant_id

    kinds = [(i.get("ContentType"), i.get("ParticipantId")) for i in transcript_all(part, c.connection_token)]
    assert (JOINED, bot.participant_id) in kinds and (LEFT, bot.participant_id) in kinds, kinds


# --------------------------------------------------------------------------------------------
# 3. The connection window, sending before connecting, attachments
# --------------------------------------------------------------------------------------------


def test_connection_window_and_what_a_bot_may_not_do(connect, part, part1, chat, instance_id, sockets):
    # The window closes: 15 timer seconds (300 ms here).
    c = chat()
    late = create_bot(connect, instance_id, c.contact_id, name="Late bot")
    time.sleep(CONNECT_WINDOW_S + 0.3)
    with aws_error("ResourceNotFoundException", 404) as h:
        part1.create_participant_connection(ParticipantToken=late.participant_token, Type=["WEBSOCKET"],
                                            ConnectParticipant=True)
    assert h.error.response.get("ResourceType") == "PARTICIPANT", h.error.response
    assert h.error.response.get("ResourceId") == late.participant_id, h.error.response

    # Connected (credentials) but not joined: it may not send anything.
    c2 = chat()
    early = connect_bot(part, create_bot(connect, instance_id, c2.contact_id, name="Early bot"),
                        types=("CONNECTION_CREDENTIALS",), join=False)
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=early.connection_token, ContentType="text/plain", Content="too early")
    with aws_error("AccessDeniedException", 403):
        part1.send_event(ConnectionToken=early.connection_token, ContentType=TYPING)
    assert not [i for i in transcript_all(part, c2.connection_token) if i.get("ParticipantId") == early.participant_id]

    # Attachments are never for a CUSTOM_BOT, joined or not; the customer may start one, and is
    # refused the others for another reason (no such attachment), not for its role.
    c3 = chat()
    joined = add_bot(connect, part, instance_id, c3.contact_id, name="Joined bot")
    calls = {
        "StartAttachmentUpload": lambda token: part1.start_attachment_upload(
            ConnectionToken=token, ContentType="text/plain", AttachmentSizeInBytes=5,
            AttachmentName="a.txt", ClientToken="bot-attach-1"),
        "CompleteAttachmentUpload": lambda token: part1.complete_attachment_upload(
            ConnectionToken=token, AttachmentIds=["attachment-1"], ClientToken="bot-attach-2"),
        "GetAttachment": lambda token: part1.get_attachment(ConnectionToken=token, AttachmentId="attachment-1"),
    }
    for name, call in calls.items():
        for bot in (early, joined):
            with aws_error("AccessDeniedException", 403, message_contains="CUSTOM_BOT"):
                call(bot.connection_token)
        try:
            call(c3.connection_token)
        except ClientError as e:
            assert e.response["Error"]["Code"] != "AccessDeniedException", f"{name} as the customer: {e!r}"


# --------------------------------------------------------------------------------------------
# 4. UpdateParticipantRoleConfig
# --------------------------------------------------------------------------------------------


def test_update_participant_role_config_valid_and_invalid(connect, connect_raw, part, chat, instance_id):
    c = chat()
    r = set_timers(connect, instance_id, c.contact_id, [
        timer("CUSTOMER", "IDLE", 2),
        timer("CUSTOMER", "DISCONNECT_NONCUSTOMER", 480),
        timer("AGENT", "IDLE", 10),
        timer("AGENT", "DISCONNECT_NONCUSTOMER", None),
    ])
    assert strip_meta(r) == {}, r
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert strip_meta(set_timers(connect, instance_id, c.contact_id, [timer("CUSTOMER", "IDLE", None)])) == {}

    invalid_parameter = [
        [timer("CUSTOMER", "IDLE", 1)],
        [timer("CUSTOMER", "IDLE", 481)],
        [timer("AGENT", "DISCONNECT_NONCUSTOMER", 0)],
        [timer("CUSTOMER", "NAP", 5)],
        [timer("SYSTEM", "IDLE", 5)],
        [timer("CUSTOM_BOT", "IDLE", 5)],
        [{"ParticipantRole": "CUSTOMER", "TimerType": "IDLE", "TimerValue": {"ParticipantTimerAction": "Reset"}}],
        [{"ParticipantRole": "CUSTOMER", "TimerType": "IDLE",
          "TimerValue": {"ParticipantTimerAction": "Unset", "ParticipantTimerDurationInMinutes": 3}}],
        [],
    ]
    for settings in invalid_parameter:
        with aws_error("InvalidParameterException", 400):
            set_timers(connect_raw, instance_id, c.contact_id, settings)

    duplicates = [
        [timer("AGENT", "IDLE", 5), timer("AGENT", "IDLE", 6)],
        [timer("CUSTOMER", "DISCONNECT_NONCUSTOMER", 5), timer("CUSTOMER", "IDLE", 5),
         timer("CUSTOMER", "DISCONNECT_NONCUSTOMER", None)],
    ]
    for settings in duplicates:
        with aws_error("InvalidRequestException", 400):
            set_timers(connect_raw, instance_id, c.contact_id, settings)

    with aws_error("ResourceNotFoundException", 404):
        set_timers(connect_raw, instance_id, "0d7e3f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6", [timer("CUSTOMER", "IDLE", 2)])

    part.disconnect_participant(ConnectionToken=c.connection_token)
    with aws_error("InvalidRequestException", 400):
        set_timers(connect_raw, instance_id, c.contact_id, [timer("CUSTOMER", "IDLE", 2)])


# --------------------------------------------------------------------------------------------
# 5. Timers end to end
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_idle_returned_and_auto_disconnect_over_the_customers_socket(connect, part, part1, chat, instance_id,
                                                                     sockets):
    c = chat()
    set_timers(connect, instance_id, c.contact_id, [timer("CUSTOMER", "IDLE", 2),
                                                    timer("CUSTOMER", "DISCONNECT_NONCUSTOMER", 2)])
    customer = sockets(c.websocket_url)
    t_join = time.monotonic()
    bot = add_bot(connect, part, instance_id, c.contact_id)
    customer.wait_item(lambda i: i.get("ContentType") == JOINED and i["ParticipantId"] == bot.participant_id, 5,
                       "participant.joined of the bot")
    bot_ws = sockets(bot.websocket_url)

    # The bot talking does not keep the customer from being idle.
    part.send_message(ConnectionToken=bot.connection_token, ContentType="text/plain", Content="Are you there?")
    idle = customer.wait_item(of_type(IDLE), 20, "participant.idle of the customer")
    idle_after = time.monotonic() - t_join
    assert idle["Type"] == "EVENT"
    assert idle["ParticipantId"] == c.participant_id and idle["ParticipantRole"] == "CUSTOMER", idle
    assert idle["DisplayName"] == c.display_name
    assert idle_after >= 2 * MINUTE_S - 0.4, f"a 2-minute idle timer (2.4 s) fired after {idle_after:.2f} s"
    seen_by_bot = bot_ws.wait_item(of_type(IDLE), 5, "participant.idle on the bot's socket")
    assert seen_by_bot["Id"] == idle["Id"]

    # A customer message brings it back.
    msg = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="yes, here")
    t_back = time.monotonic()
    returned = customer.wait_item(of_type(RETURNED), 5, "participant.returned of the customer")
    assert returned["ParticipantId"] == c.participant_id and returned["ParticipantRole"] == "CUSTOMER", returned
    customer.wait_item(lambda i: i.get("Id") == msg["Id"], 1, "the customer's message")
    assert item_index(customer, msg["Id"]) < item_index(customer, returned["Id"])

    # Quiet again: idle after 2 minutes, then auto-disconnect 2 minutes later; the bot leaves.
    idle2 = customer.wait_item(of_type(IDLE), 20, "the second participant.idle")
    assert idle2["Id"] != idle["Id"]
    auto = customer.wait_item(of_type(AUTO_DISCONNECTION), 20, "participant.autodisconnection")
    auto_after = time.monotonic() - t_back
    assert auto["ParticipantId"] == c.participant_id and auto["ParticipantRole"] == "CUSTOMER", auto
    assert auto_after >= 4 * MINUTE_S - 0.6, f"auto-disconnect {auto_after:.2f} s after the customer came back"
    left = customer.wait_item(of_type(LEFT), 5, "participant.left of the bot")
    assert left["ParticipantId"] == bot.participant_id and left["ParticipantRole"] == "CUSTOM_BOT", left
    assert item_index(customer, idle2["Id"]) < item_index(customer, auto["Id"]) < item_index(customer, left["Id"])

    # The chat stays open for the customer; the bot is out.
    after = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="hello?")
    customer.wait_item(lambda i: i.get("Id") == after["Id"], 5, "a message after the auto-disconnect")
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert "DisconnectTimestamp" not in contact, contact
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=bot.connection_token, ContentType="text/plain", Content="me too")

    # None of the three timer events is in the transcript; the bot's departure is.
    transcript = transcript_all(part, c.connection_token)
    kinds = [i.get("ContentType") for i in transcript]
    assert not [k for k in kinds if k in TIMER_EVENTS], kinds
    ids = {i["Id"] for i in transcript}
    assert not ids & {idle["Id"], returned["Id"], idle2["Id"], auto["Id"]}
    assert left["Id"] in ids
    assert [i["ParticipantId"] for i in transcript if i.get("ContentType") == LEFT] == [bot.participant_id]

    # Nothing more fires: the session is over.
    customer.drain(3 * MINUTE_S)
    extra = [i for i in customer.items() if i.get("ContentType") in TIMER_EVENTS]
    assert len(extra) == 4, [(i["ContentType"], i["Id"]) for i in extra]


# --------------------------------------------------------------------------------------------
# 6. Timers survive a crash
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_timers_survive_kill_9(server, connect, part, chat, instance_id):
    c = chat()
    idle_minutes = 4  # 4.8 s: time enough to kill, restart and reconnect before it fires
    set_timers(connect, instance_id, c.contact_id, [timer("CUSTOMER", "IDLE", idle_minutes),
                                                    timer("CUSTOMER", "DISCONNECT_NONCUSTOMER", 2)])
    ws = ChatSocket(c.websocket_url)
    try:
        ws.subscribe()
        t_join = time.monotonic()
        bot = add_bot(connect, part, instance_id, c.contact_id)
        ws.wait_item(lambda i: i.get("ContentType") == JOINED and i["ParticipantId"] == bot.participant_id, 5,
                     "participant.joined of the bot")
    finally:
        ws.close()

    server.restart_after_crash()  # SIGKILL, then start again on the same data dir and port

    conn = part.create_participant_connection(ParticipantToken=c.participant_token,
                                              Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    ws = ChatSocket(conn["Websocket"]["Url"])
    try:
        assert ws.subscribe()["content"]["status"] == "success"
        reconnected_after = time.monotonic() - t_join
        assert reconnected_after < idle_minutes * MINUTE_S - 0.5, \
            f"the restart took too long ({reconnected_after:.1f} s): the idle deadline may have passed unseen"
        idle = ws.wait_item(of_type(IDLE), 25, "participant.idle fired by the restarted server")
        idle_after = time.monotonic() - t_join
        assert idle["ParticipantId"] == c.participant_id and idle["ParticipantRole"] == "CUSTOMER", idle
        assert idle_after >= idle_minutes * MINUTE_S - 0.4, f"idle after {idle_after:.2f} s"
        auto = ws.wait_item(of_type(AUTO_DISCONNECTION), 25, "participant.autodisconnection after the restart")
        assert auto["ParticipantId"] == c.participant_id
        left = ws.wait_item(of_type(LEFT), 5, "participant.left of the bot after the restart")
        assert left["ParticipantId"] == bot.participant_id and left["ParticipantRole"] == "CUSTOM_BOT", left
        ws.drain(2 * MINUTE_S)
        fired = [i["ContentType"] for i in ws.items() if i.get("ContentType") in TIMER_EVENTS]
        assert fired == [IDLE, AUTO_DISCONNECTION], fired
    finally:
        ws.close()
    token = conn["ConnectionCredentials"]["ConnectionToken"]
    assert part.send_message(ConnectionToken=token, ContentType="text/plain", Content="after the crash")["Id"]
    kinds = [i.get("ContentType") for i in transcript_all(part, token)]
    assert not [k for k in kinds if k in TIMER_EVENTS], kinds
