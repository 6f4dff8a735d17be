"""Cluster mode: chat timers (UpdateParticipantRoleConfig) of a node that dies fire once, on
another node.

Needs a PostgreSQL server, like test_cluster.py (whose node and schema helpers it uses):
`LIAISON_TEST_DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test) and the `psql`
client. Without the URL the module is skipped. Each test gets a fresh schema, dropped afterwards.
Server logs: target/client-test-logs/test_cluster_timers-<test>-node<N>.log.

The nodes run with LIAISON_TIMER_MINUTE_MS=1200: 2-minute timers take 2.4 s, and a custom
participant's 15-second connection window lasts 300 ms.
"""

from __future__ import annotations

import time
import uuid

import pytest

from liaison_harness import JOINED, LEFT, ChatSocket, log_dir, transcript_all
from test_cluster import DATABASE_URL, ClusterNode, instance_and_flow, psql, with_search_path

pytestmark = pytest.mark.skipif(
    not DATABASE_URL,
    reason="LIAISON_TEST_DATABASE_URL is not set: cluster mode needs a PostgreSQL server "
           "(e.g. postgres://postgres@127.0.0.1:5432/test; .ci/run sets it)")

TIMER_MINUTE_MS = 1200
MINUTE_S = TIMER_MINUTE_MS / 1000

IDLE = "application/vnd.amazonaws.connect.event.participant.idle"
RETURNED = "application/vnd.amazonaws.connect.event.participant.returned"
AUTO_DISCONNECTION = "application/vnd.amazonaws.connect.event.participant.autodisconnection"
TIMER_EVENTS = (IDLE, RETURNED, AUTO_DISCONNECTION)


class Nodes:
    """Liaison nodes on one fresh PostgreSQL schema."""

    def __init__(self, schema: str, tmp, test_name: str):
        self.schema = schema
        self.url = with_search_path(DATABASE_URL, schema)
        self.tmp = tmp
        self.test_name = test_name
        self.nodes: list[ClusterNode] = []

    def start(self, count: int) -> list[ClusterNode]:
        for i in range(count):
            log = log_dir() / f"test_cluster_timers-{self.test_name}-node{i}.log"
            log.write_bytes(b"")
            keys = (self.nodes[0].access_key, self.nodes[0].secret_key) if self.nodes else None
            node = ClusterNode(i, self.tmp / f"node{i}", log, self.url, keys)
            node.timer_minute_ms = TIMER_MINUTE_MS
            self.nodes.append(node)
            node.start()  # one after another: the first one creates the default instance and flow
        return self.nodes

    def count(self, contact_id: str, content_type: str, participant_id: str | None = None) -> int:
        """Stored items of `content_type` in the contact's log (transcript or not)."""
        sql = (f'SELECT count(*) FROM "{self.schema}".items '
               f"WHERE contact_id = '{contact_id}' AND content_type = '{content_type}'")
        if participant_id is not None:
            sql += f" AND participant_id = '{participant_id}'"
        return int(psql(sql).strip())


@pytest.fixture
def cluster(request, tmp_path):
    schema = f"pytest_timers_{uuid.uuid4().hex[:16]}"
    psql(f'CREATE SCHEMA "{schema}"')
    c = Nodes(schema, tmp_path, request.node.name)
    try:
        yield c
    finally:
        for node in c.nodes:
            node.stop()
        psql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.slow
def test_timers_of_a_killed_node_fire_once_on_another(cluster):
    nodes = cluster.start(3)
    A, B, C = 0, 1, 2  # A is killed; the customer's socket is on B
    admins = [n.client("connect", retries=False) for n in nodes]
    parts = [n.client("connectparticipant", retries=False, access_key="dummy", secret_key="dummy") for n in nodes]
    instance_id, flow_id = instance_and_flow(admins)

    # The chat, its timers and the bot, all through node A.
    r = admins[A].start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "Timed customer"})
    contact_id, customer_id = r["ContactId"], r["ParticipantId"]
    idle_minutes = 3  # 3.6 s after the bot joins; A dies well before that
    admins[A].update_participant_role_config(
        InstanceId=instance_id, ContactId=contact_id,
        ChannelConfiguration={"Chat": {"ParticipantTimerConfigList": [
            {"ParticipantRole": "CUSTOMER", "TimerType": "IDLE",
             "TimerValue": {"ParticipantTimerDurationInMinutes": idle_minutes}},
            {"ParticipantRole": "CUSTOMER", "TimerType": "DISCONNECT_NONCUSTOMER",
             "TimerValue": {"ParticipantTimerDurationInMinutes": 2}},
        ]}})
    # The customer's socket on node B.
    conn = parts[B].create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                                  Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
    token = conn["ConnectionCredentials"]["ConnectionToken"]
    ws = ChatSocket(conn["Websocket"]["Url"])
    try:
        assert ws.subscribe()["content"]["status"] == "success"
        # Warm up A's participant client: the bot has 300 ms to connect after CreateParticipant.
        parts[A].get_transcript(ConnectionToken=token, MaxResults=1)

        created = admins[A].create_participant(
            InstanceId=instance_id, ContactId=contact_id,
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot on A"})
        t_join = time.monotonic()
        parts[A].create_participant_connection(
            ParticipantToken=created["ParticipantCredentials"]["ParticipantToken"],
            Type=["CONNECTION_CREDENTIALS"], ConnectParticipant=True)
        bot_id = created["ParticipantId"]
        ws.wait_item(lambda i: i.get("ContentType") == JOINED and i.get("ParticipantId") == bot_id, 5,
                     "participant.joined of the bot on node B")

        nodes[A].kill()
        killed_after = time.monotonic() - t_join
        assert killed_after < idle_minutes * MINUTE_S - 1, \
            f"node A was killed {killed_after:.1f} s after the join: too late to prove anything"

        idle = ws.wait_item(lambda i: i.get("ContentType") == IDLE, 20,
                            "participant.idle on node B after node A died")
        idle_after = time.monotonic() - t_join
        assert idle["ParticipantId"] == customer_id and idle["ParticipantRole"] == "CUSTOMER", idle
        assert idle_after >= idle_minutes * MINUTE_S - 0.4, f"idle {idle_after:.2f} s after the join"
        auto = ws.wait_item(lambda i: i.get("ContentType") == AUTO_DISCONNECTION, 20,
                            "participant.autodisconnection on node B")
        assert auto["ParticipantId"] == customer_id, auto
        left = ws.wait_item(lambda i: i.get("ContentType") == LEFT, 5, "participant.left of the bot on node B")
        assert left["ParticipantId"] == bot_id and left["ParticipantRole"] == "CUSTOM_BOT", left

        # Give the surviving nodes' sweeps time to fire anything twice (several sweeps each).
        ws.drain(3.0)
        on_socket = [(i["ContentType"], i.get("ParticipantId")) for i in ws.items()
                     if i.get("ContentType") in TIMER_EVENTS + (LEFT,)]
        assert on_socket == [(IDLE, customer_id), (AUTO_DISCONNECTION, customer_id), (LEFT, bot_id)], on_socket
    finally:
        ws.close()

    assert not nodes[A].alive() and nodes[B].alive() and nodes[C].alive()
    stored = {t: cluster.count(contact_id, t) for t in TIMER_EVENTS}
    assert stored == {IDLE: 1, RETURNED: 0, AUTO_DISCONNECTION: 1}, stored
    assert cluster.count(contact_id, LEFT, bot_id) == 1
    assert cluster.count(contact_id, LEFT) == 1, "only the bot left; the customer stays"

    # The chat stays open; the timer events are not in the transcript.
    msg = parts[C].send_message(ConnectionToken=token, ContentType="text/plain", Content="still here")
    contact = admins[B].describe_contact(InstanceId=instance_id, ContactId=contact_id)["Contact"]
    assert "DisconnectTimestamp" not in contact, contact
    transcript = transcript_all(parts[B], token)
    assert not [i for i in transcript if i.get("ContentType") in TIMER_EVENTS], transcript
    assert msg["Id"] in [i["Id"] for i in transcript]
