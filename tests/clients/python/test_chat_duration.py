"""ChatDurationInMinutes ends the chat. The harness sets LIAISON_TIMER_MINUTE_MS=100, so 60 minutes = ~6 s."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from liaison_harness import ENDED, ChatSocket, aws_error, start_chat

pytestmark = pytest.mark.slow


def test_chat_ends_after_duration(server, connect, part, part1, instance_id, flow_id):
    assert server.timer_minute_ms == 100
    t0 = time.monotonic()
    c = start_chat(connect, instance_id, flow_id, part=part, ChatDurationInMinutes=60)
    ws = ChatSocket(c.websocket_url)
    try:
        ws.subscribe()
        time.sleep(1.0)
        assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain",
                                 Content="still open after 10 minutes")["Id"]
        ended = ws.wait_item(lambda i: i.get("ContentType") == ENDED, 20, "chat.ended from the duration timer")
        elapsed = time.monotonic() - t0
        assert ended["ContactId"] == c.contact_id and ended["InitialContactId"] == c.contact_id
    finally:
        ws.close()
    assert 4.5 <= elapsed <= 12, f"60 timer-minutes of 100 ms should end the chat after ~6 s, took {elapsed:.1f} s"

    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    lasted = contact["DisconnectTimestamp"] - contact["InitiationTimestamp"]
    assert dt.timedelta(seconds=4.5) <= lasted <= dt.timedelta(seconds=12), lasted
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="too late")


def test_longer_duration_not_ended_early(server, connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part, ChatDurationInMinutes=200)  # ~20 s
    time.sleep(7)
    assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="alive")["Id"]
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert "DisconnectTimestamp" not in contact, contact
