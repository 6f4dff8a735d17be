"""Durability: kill -9 the server, start it again on the same data directory, and carry on."""

from __future__ import annotations

import datetime as dt

from liaison_harness import ChatSocket, start_chat, transcript_all


def test_state_survives_kill_9(server, connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part, display_name="Durable",
                   Attributes={"order": "A-1"})
    ws = ChatSocket(c.websocket_url)
    ws.subscribe()
    sent = [part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain",
                              Content=f"before crash {i}")["Id"] for i in range(3)]
    ws.wait_item(lambda i: i.get("Id") == sent[-1], 5, "last message before the crash")
    ws.close()
    before = transcript_all(part, c.connection_token)
    started = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]

    server.restart_after_crash()  # SIGKILL, then start again on the same data dir and port

    # The contact
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert contact["Channel"] == "CHAT"
    assert contact["InitiationTimestamp"] == started["InitiationTimestamp"]
    assert "DisconnectTimestamp" not in contact
    assert connect.get_contact_attributes(InstanceId=instance_id,
                                          InitialContactId=c.contact_id)["Attributes"] == {"order": "A-1"}
    assert [i["Id"] for i in connect.list_instances()["InstanceSummaryList"]] == [instance_id]

    # The transcript, read with the ConnectionToken issued before the crash
    after = transcript_all(part, c.connection_token)
    before_ids = [i["Id"] for i in before]
    assert [i["Id"] for i in after][:len(before_ids)] == before_ids, (before, after)
    assert [i for i in after if i["Id"] in before_ids] == before, "items unchanged by the restart"
    assert [i["Content"] for i in after if i["Id"] in sent] == [f"before crash {i}" for i in range(3)]

    # A new socket through the old ParticipantToken
    conn = part.create_participant_connection(ParticipantToken=c.participant_token,
                                              Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    assert conn["Websocket"]["Url"].startswith(f"ws://127.0.0.1:{server.port}/")
    ws2 = ChatSocket(conn["Websocket"]["Url"])
    try:
        assert ws2.subscribe()["content"]["status"] == "success"
        r_old = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain",
                                  Content="after restart, old token")
        r_new = part.send_message(ConnectionToken=conn["ConnectionCredentials"]["ConnectionToken"],
                                  ContentType="text/plain", Content="after restart, new token")
        ws2.wait_item(lambda i: i.get("Id") == r_old["Id"], 5, "message sent with the old token")
        ws2.wait_item(lambda i: i.get("Id") == r_new["Id"], 5, "message sent with the new token")
    finally:
        ws2.close()
    final = [i["Id"] for i in transcript_all(part, c.connection_token)]
    assert final[:len(before_ids)] == before_ids
    assert r_old["Id"] in final and r_new["Id"] in final
    assert final.index(r_old["Id"]) < final.index(r_new["Id"])

    # New chats still work, and ids do not collide with the old ones
    c2 = start_chat(connect, instance_id, flow_id, part=part)
    assert c2.contact_id != c.contact_id
    assert part.send_message(ConnectionToken=c2.connection_token, ContentType="text/plain", Content="new")["Id"]

    # Ending still works after the restart
    part.disconnect_participant(ConnectionToken=c.connection_token)
    ended = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert isinstance(ended["DisconnectTimestamp"], dt.datetime)


def test_ended_chat_stays_ended_after_restart(server, connect, part, part1, instance_id, flow_id):
    from liaison_harness import aws_error
    c = start_chat(connect, instance_id, flow_id, part=part)
    part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="x")
    connect.stop_contact(InstanceId=instance_id, ContactId=c.contact_id)
    server.restart_after_crash()
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert "DisconnectTimestamp" in contact
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="y")
    with aws_error("AccessDeniedException", 403):
        part1.create_participant_connection(ParticipantToken=c.participant_token, Type=["WEBSOCKET"])


def test_duration_timer_survives_restart(server, connect, part, instance_id, flow_id):
    import time

    from liaison_harness import ENDED
    t0 = time.monotonic()
    c = start_chat(connect, instance_id, flow_id, part=part, ChatDurationInMinutes=80)  # ~8 s
    time.sleep(1.5)
    server.restart_after_crash()
    conn = part.create_participant_connection(ParticipantToken=c.participant_token, Type=["WEBSOCKET"])
    ws = ChatSocket(conn["Websocket"]["Url"])
    try:
        ws.subscribe()
        ws.wait_item(lambda i: i.get("ContentType") == ENDED, 25, "chat.ended after the restart")
    finally:
        ws.close()
    elapsed = time.monotonic() - t0
    assert 6 <= elapsed <= 20, f"an 8 s chat ended after {elapsed:.1f} s across a restart"
