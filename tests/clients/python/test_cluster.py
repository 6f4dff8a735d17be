"""Cluster mode: several Liaison nodes on one PostgreSQL schema, and what happens when one dies.

Needs a PostgreSQL server: `LIAISON_TEST_DATABASE_URL` (e.g. postgres://postgres@127.0.0.1:5432/test;
`.ci/run` sets it) and the `psql` client, used to create a fresh schema per test (and drop it
afterwards) and to count stored items. Without the URL the module is skipped.

Each node is the harness's `LiaisonServer` with `LIAISON_DATABASE_URL` (the environment form of
`--database-url`) pointing at the test's schema through `options=-c search_path=<schema>`. The nodes
share one admin key pair and are started one after another, so only the first creates the default
instance and flow. Server logs: target/client-test-logs/test_cluster-<test>-node<N>.log (listed in
test_cluster.log).

- test_message_sent_through_one_node_reaches_a_socket_on_another: plain cross-node delivery (< 2 s).
- test_node_loss_mid_traffic: 3 nodes, 6 chats, 4 sender threads round-robin over the nodes, one
  node SIGKILLed mid-traffic. Acknowledged sends are stored once and in per-sender order; failed
  ones may be missing but never doubled (half the threads retry them with the same ClientToken
  on a live node); sockets that survived got everything once and in order; clients whose socket
  died reconnect elsewhere and catch up with GetTranscript without a gap; duration timers the
  dead node armed still end their chats, once.
- test_message_acknowledged_by_a_node_that_dies_at_once_reaches_the_other_nodes: the narrow case
  where the node dies right after answering 200 and nobody writes to the chat afterwards.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from liaison_harness import (ENDED, REGION, ChatSocket, LiaisonServer, chat_item, log_dir, quiet_flow, url_with_port,
                             wait_until)

DATABASE_URL = os.environ.get("LIAISON_TEST_DATABASE_URL")

pytestmark = pytest.mark.skipif(
    not DATABASE_URL,
    reason="LIAISON_TEST_DATABASE_URL is not set: cluster mode needs a PostgreSQL server "
           "(e.g. postgres://postgres@127.0.0.1:5432/test; .ci/run sets it)")

# Failures a client sees when the node it talks to is gone (refused, reset, timed out).
TRANSPORT_ERRORS = (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)


# --------------------------------------------------------------------------------------------
# PostgreSQL (through psql) and the nodes
# --------------------------------------------------------------------------------------------


def psql(sql: str) -> str:
    exe = shutil.which("psql")
    if exe is None:
        pytest.fail("LIAISON_TEST_DATABASE_URL is set but the `psql` client is not installed "
                    "(apt-get install postgresql-client); the cluster tests need it to create a schema",
                    pytrace=False)
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    r = subprocess.run([exe, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DATABASE_URL, "-c", sql],
                       capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        pytest.fail(f"psql failed (exit {r.returncode}) on {sql!r}: {r.stderr.strip()}", pytrace=False)
    return r.stdout


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "options=" + urllib.parse.quote(f"-c search_path={schema}", safe="")


class ClusterNode(LiaisonServer):
    """A `liaison serve` process keeping its data in the shared PostgreSQL schema."""

    def __init__(self, index: int, data_dir: Path, log_path: Path, database_url: str,
                 keys: tuple[str, str] | None = None):
        super().__init__(data_dir, log_path)
        self.index = index
        self.database_url = database_url
        if keys:
            self.access_key, self.secret_key = keys

    def env(self) -> dict:
        env = super().env()
        env["LIAISON_DATABASE_URL"] = self.database_url
        return env

    def start(self, port: int | None = None, timeout: float = 20.0) -> None:
        super().start(port, timeout)
        # Make sure it really runs on PostgreSQL (an embedded SQLite node would be a cluster of one).
        wait_until(lambda: "Storing data in PostgreSQL" in self.log_path.read_text(errors="replace"),
                   5, f"node {self.index} to report PostgreSQL storage in {self.log_path}")


def _client(node: ClusterNode, service: str, *, read_timeout: float = 5):
    """A single-attempt client with short timeouts (a dead node must fail fast, not be retried)."""
    cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=read_timeout,
                 max_pool_connections=4)
    if service == "connect":
        keys = {"aws_access_key_id": node.access_key, "aws_secret_access_key": node.secret_key}
    else:
        keys = {"aws_access_key_id": "dummy", "aws_secret_access_key": "dummy"}
    return boto3.client(service, endpoint_url=node.endpoint, region_name=REGION, config=cfg, **keys)


@dataclass
class Cluster:
    schema: str
    url: str
    tmp: Path
    test_name: str
    nodes: list[ClusterNode] = field(default_factory=list)

    def start(self, count: int) -> list[ClusterNode]:
        index_log = log_dir() / "test_cluster.log"
        for i in range(count):
            log = log_dir() / f"test_cluster-{self.test_name}-node{i}.log"
            log.write_bytes(b"")
            with open(index_log, "a") as f:
                f.write(f"{self.test_name}: node {i} (schema {self.schema}) logs to {log}\n")
            keys = (self.nodes[0].access_key, self.nodes[0].secret_key) if self.nodes else None
            node = ClusterNode(i, self.tmp / f"node{i}", log, self.url, keys)
            self.nodes.append(node)
            node.start()  # one after another: the first one creates the default instance and flow
        return self.nodes

    def item_counts(self, contact_ids: list[str], content_type: str) -> dict[str, int]:
        """Stored items of `content_type` per contact, read straight from the shared database."""
        ids = ",".join("'" + c.replace("'", "''") + "'" for c in contact_ids)
        out = psql(f'SELECT contact_id, count(*) FROM "{self.schema}".items '
                   f"WHERE content_type = '{content_type}' AND contact_id IN ({ids}) GROUP BY contact_id")
        counts = {c: 0 for c in contact_ids}
        for line in out.splitlines():
            if line.strip():
                contact_id, n = line.split("|")
                counts[contact_id] = int(n)
        return counts


@pytest.fixture(scope="module", autouse=True)
def _log_index():
    (log_dir() / "test_cluster.log").write_text("server logs of the cluster tests, one file per node:\n")


@pytest.fixture
def cluster(request, tmp_path):
    schema = f"pytest_cluster_{uuid.uuid4().hex[:16]}"
    psql(f'CREATE SCHEMA "{schema}"')
    c = Cluster(schema, with_search_path(DATABASE_URL, schema), tmp_path, request.node.name)
    try:
        yield c
    finally:
        for node in c.nodes:
            node.stop()
        psql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def instance_and_flow(admins) -> tuple[str, str]:
    """The default instance and flow, as every node sees them (they must all agree)."""
    seen = [[i["Id"] for i in a.list_instances()["InstanceSummaryList"]] for a in admins]
    assert len(seen[0]) == 1 and all(s == seen[0] for s in seen), f"nodes disagree on the instances: {seen}"
    instance_id = seen[0][0]
    flows = [f["Name"] for f in admins[-1].list_contact_flows(InstanceId=instance_id)["ContactFlowSummaryList"]
             if f.get("ContactFlowType") == "CONTACT_FLOW"]
    assert flows, "no CONTACT_FLOW flow"
    # Chats run a quiet flow (created through one node, seen by all), so tests see only their
    # own traffic.
    return instance_id, quiet_flow(admins[0], instance_id)


def full_transcript(part, token: str) -> list[dict]:
    """Every transcript item, oldest first, through as many pages as it takes."""
    items: list[dict] = []
    next_token = None
    for _ in range(100):
        kw = {"NextToken": next_token} if next_token else {}
        r = part.get_transcript(ConnectionToken=token, MaxResults=100, ScanDirection="FORWARD",
                                SortOrder="ASCENDING", **kw)
        items += r["Transcript"]
        next_token = r.get("NextToken")
        if not next_token:
            return items
    raise AssertionError("transcript longer than 100 pages")


def message_ids(items: list[dict]) -> list[str]:
    return [i["Id"] for i in items if i.get("Type") == "MESSAGE"]


class Reader:
    """A subscribed ChatSocket read continuously by a thread of its own."""

    def __init__(self, label: str, url: str, node: int):
        self.label = label
        self.node = node
        self.sock = ChatSocket(url)
        ack = self.sock.subscribe()
        assert ack["content"]["status"] == "success", f"{label}: {ack}"
        self.subscribed_at = time.monotonic()
        self.error: str | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=label, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self.sock.closed:
                self.sock.drain(0.2)
        except Exception as e:  # noqa: BLE001 - any socket failure just ends the reading
            self.error = repr(e)
            self.sock.closed = True

    @property
    def closed(self) -> bool:
        return self.sock.closed

    def items(self) -> list[dict]:
        return [chat_item(f) for f in list(self.sock.frames) if f.get("topic") == "aws/chat"]

    def message_ids(self) -> list[str]:
        return message_ids(self.items())

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


def wait_for_message(reader: Reader, message_id: str, timeout: float) -> float:
    t0 = time.monotonic()
    wait_until(lambda: message_id in reader.message_ids() or reader.closed, timeout,
               f"message {message_id} on {reader.label}", interval=0.01)
    assert message_id in reader.message_ids(), \
        f"{reader.label} closed ({reader.error}) before message {message_id} arrived; got {reader.items()}"
    return time.monotonic() - t0


# --------------------------------------------------------------------------------------------
# Plain cross-node delivery
# --------------------------------------------------------------------------------------------


def test_message_sent_through_one_node_reaches_a_socket_on_another(cluster):
    nodes = cluster.start(2)
    admins = [n.client("connect") for n in nodes]
    parts = [n.client("connectparticipant", access_key="dummy", secret_key="dummy") for n in nodes]
    instance_id, flow_id = instance_and_flow(admins)

    r = admins[0].start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "Cross-node"})
    readers = []
    tokens = []
    try:
        for n in (1, 0):  # a socket on B, then one on A
            conn = parts[n].create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                                          Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
            url = conn["Websocket"]["Url"]
            assert url_with_port(url) == ("127.0.0.1", nodes[n].port), \
                f"CreateParticipantConnection on node {n} (port {nodes[n].port}) returned {url}"
            readers.append(Reader(f"socket on node {n}", url, n))
            tokens.append(conn["ConnectionCredentials"]["ConnectionToken"])
        on_b, on_a = readers

        sent = []
        for k in range(6):
            via = k % 2  # A, B, A, ...
            other = on_b if via == 0 else on_a
            msg_id = parts[via].send_message(ConnectionToken=tokens[k % 2], ContentType="text/plain",
                                             Content=f"cross-node {k} via node {via}")["Id"]
            sent.append(msg_id)
            took = wait_for_message(other, msg_id, 2.0)
            assert took <= 2.0, f"message {k} sent through node {via} took {took:.2f} s to reach {other.label}"
        for reader in readers:
            wait_until(lambda reader=reader: reader.message_ids() == sent, 2,
                       f"all six messages, in order, on {reader.label}")
        assert message_ids(full_transcript(parts[1], tokens[0])) == sent
    finally:
        for reader in readers:
            reader.close()


# --------------------------------------------------------------------------------------------
# Losing a node mid-traffic
# --------------------------------------------------------------------------------------------

CHATS = 6
SENDERS = 4           # threads; even ones retry a failed send once with the same ClientToken
KILL_AFTER = 1.5      # s of traffic before the kill
TRAFFIC_AFTER_RECONNECT = 2.0
MAX_SENDS_PER_THREAD = 1500
TAIL = 3              # messages per chat sent after the traffic, through the surviving nodes


@dataclass
class Send:
    thread: int | str
    k: int
    chat: int
    node: int
    content: str
    client_token: str
    started: float = 0.0
    finished: float = 0.0
    id: str | None = None             # acknowledged Id (first attempt or the retry)
    error: str | None = None          # transport failure of the first attempt
    failed_at: float = 0.0
    retry_node: int | None = None
    retry_error: str | None = None
    http_error: str | None = None     # an AWS error answer (never expected)

    def where(self) -> str:
        s = f"send {self.content!r} (thread {self.thread}) through node {self.node}"
        if self.error:
            s += f" failed after {self.failed_at - self.started:.3f} s: {self.error}"
        if self.retry_node is not None:
            s += f"; retried through node {self.retry_node}: {self.retry_error or 'acknowledged'}"
        return s


@dataclass
class TrafficChat:
    index: int
    contact_id: str
    participant_token: str
    connection_token: str
    created_on: int
    readers: list[Reader] = field(default_factory=list)
    # after the kill, for the socket that was on the dead node
    reconnected: Reader | None = None
    dead_reader: Reader | None = None
    catchup: list[dict] | None = None
    catchup_started: float = 0.0


def _aws_error(e: ClientError) -> str:
    err = e.response.get("Error", {})
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return f"{status} {err.get('Code')}: {err.get('Message')}"


@pytest.mark.slow
def test_node_loss_mid_traffic(cluster):
    nodes = cluster.start(3)
    A, B, V = 0, 1, 2  # V is the victim
    live = (A, B)
    admins = [n.client("connect") for n in nodes]
    parts = [n.client("connectparticipant", access_key="dummy", secret_key="dummy") for n in nodes]
    instance_id, flow_id = instance_and_flow(admins)
    all_readers: list[Reader] = []
    stop = threading.Event()  # ends the sender threads

    def reader(label: str, url: str, node: int) -> Reader:
        assert url_with_port(url) == ("127.0.0.1", nodes[node].port), \
            f"CreateParticipantConnection on node {node} (port {nodes[node].port}) returned {url}"
        r = Reader(label, url, node)
        all_readers.append(r)
        return r

    try:
        # ---- chats: created on node i % 3, sockets on the two other nodes ----
        chats: list[TrafficChat] = []
        for i in range(CHATS):
            made_on = i % 3
            r = admins[made_on].start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                                   ParticipantDetails={"DisplayName": f"Customer {i}"})
            chat = None
            for n in ((i + 1) % 3, (i + 2) % 3):
                conn = parts[n].create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                                              Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
                if chat is None:
                    chat = TrafficChat(i, r["ContactId"], r["ParticipantToken"],
                                       conn["ConnectionCredentials"]["ConnectionToken"], made_on)
                chat.readers.append(reader(f"chat {i} socket on node {n}", conn["Websocket"]["Url"], n))
            chats.append(chat)

        # ---- chats whose duration timer the victim armed; watched from sockets on live nodes ----
        timer_chats = []
        for j in range(2):
            r = admins[V].start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                             ParticipantDetails={"DisplayName": f"Timed {j}"},
                                             ChatDurationInMinutes=60)  # 6 s at 100 ms a minute
            created = time.monotonic()
            conn = parts[live[j]].create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                                                Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
            timer_chats.append((r["ContactId"], created,
                                reader(f"timed chat {j} socket on node {live[j]}", conn["Websocket"]["Url"],
                                       live[j])))

        # ---- traffic ----
        sends: list[Send] = []
        crashes: list[str] = []
        clients = [[_client(n, "connectparticipant") for n in nodes] for _ in range(SENDERS)]

        def sender(t: int) -> None:
            try:
                for k in range(MAX_SENDS_PER_THREAD):
                    if stop.is_set():
                        return
                    c = (t + k) % CHATS
                    n = (t + k + k // CHATS) % 3
                    s = Send(t, k, c, n, f"chat {c} thread {t} send {k}", str(uuid.uuid4()))
                    sends.append(s)
                    s.started = time.monotonic()
                    try:
                        s.id = clients[t][n].send_message(
                            ConnectionToken=chats[c].connection_token, ContentType="text/plain",
                            Content=s.content, ClientToken=s.client_token)["Id"]
                    except ClientError as e:
                        s.http_error = _aws_error(e)
                    except TRANSPORT_ERRORS as e:
                        s.failed_at = time.monotonic()
                        s.error = f"{type(e).__name__}: {e}"
                        if t % 2 == 0:
                            # What a client (or a load balancer) does: the same request, same
                            # ClientToken, on another node.
                            s.retry_node = next(m for m in ((n + 1) % 3, (n + 2) % 3) if m != V)
                            try:
                                s.id = clients[t][s.retry_node].send_message(
                                    ConnectionToken=chats[c].connection_token, ContentType="text/plain",
                                    Content=s.content, ClientToken=s.client_token)["Id"]
                            except ClientError as e2:
                                s.retry_error = _aws_error(e2)
                            except TRANSPORT_ERRORS as e2:
                                s.retry_error = f"{type(e2).__name__}: {e2}"
                    s.finished = time.monotonic()
            except Exception as e:  # noqa: BLE001
                crashes.append(f"sender {t}: {e!r}")

        threads = [threading.Thread(target=sender, args=(t,), name=f"sender-{t}", daemon=True)
                   for t in range(SENDERS)]
        traffic_started = time.monotonic()
        for th in threads:
            th.start()
        time.sleep(KILL_AFTER)
        # Kill while at least one send to the victim is in flight (bounded: at most 1 s more).
        aim_until = time.monotonic() + 1.0
        while time.monotonic() < aim_until and not any(
                s.node == V and s.started and not s.finished and not s.error for s in list(sends)[-2 * SENDERS:]):
            time.sleep(0.0005)

        acked_before_kill = sum(1 for s in list(sends) if s.id and s.node == V)
        t_kill = time.monotonic()
        nodes[V].kill()
        assert t_kill < min(created for _, created, _ in timer_chats) + 4.5, \
            "test too slow: the victim must die well before the 6 s chat deadlines"
        assert acked_before_kill > 0, "the victim acknowledged no sends before it was killed"

        # ---- clients whose socket was on the dead node reconnect through a live node ----
        for chat in chats:
            dead = [r for r in chat.readers if r.node == V]
            if not dead:
                continue
            (old,) = dead
            wait_until(lambda old=old: old.closed, 5, f"{old.label} to notice the node died")
            via = chat.created_on  # a live node for every chat with a socket on the victim
            assert via != V
            conn = parts[via].create_participant_connection(ParticipantToken=chat.participant_token,
                                                            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
            chat.dead_reader = old
            chat.reconnected = reader(f"chat {chat.index} socket reopened on node {via}",
                                      conn["Websocket"]["Url"], via)
            # Catch up the way ChatJS does after a reconnect: GetTranscript with the new token.
            chat.catchup_started = time.monotonic()
            chat.catchup = full_transcript(parts[via], conn["ConnectionCredentials"]["ConnectionToken"])
        time.sleep(TRAFFIC_AFTER_RECONNECT)
        stop.set()
        for th in threads:
            th.join(15)
        traffic_ended = time.monotonic()
        assert not any(th.is_alive() for th in threads), "sender threads did not stop"
        assert not crashes, crashes

        # ---- a few more messages per chat, one at a time, through the surviving nodes ----
        for chat in chats:
            for k in range(TAIL):
                n = live[k % 2]
                s = Send("tail", k, chat.index, n, f"chat {chat.index} tail {k}", str(uuid.uuid4()))
                s.started = time.monotonic()
                s.id = parts[n].send_message(ConnectionToken=chat.connection_token, ContentType="text/plain",
                                             Content=s.content, ClientToken=s.client_token)["Id"]
                s.finished = time.monotonic()
                sends.append(s)
        tails = {c.index: [s.id for s in sends if s.thread == "tail" and s.chat == c.index] for c in chats}
        problems: list[str] = []
        deadline = time.monotonic() + 10
        for chat in chats:
            for r in chat.readers + ([chat.reconnected] if chat.reconnected else []):
                last = tails[chat.index][-1]
                while r.node != V and last not in r.message_ids() and not r.closed and time.monotonic() < deadline:
                    time.sleep(0.02)
                if r.node != V and last not in r.message_ids():
                    problems.append(f"chat {chat.index}: the last tail message {last} (sent through node "
                                    f"{live[(TAIL - 1) % 2]}) did not reach {r.label} within 10 s")

        # ---- what was sent ----
        by_chat: dict[int, list[Send]] = collections.defaultdict(list)
        for s in sends:
            by_chat[s.chat].append(s)
            if s.http_error:
                problems.append(f"{s.where()}: answered with an error: {s.http_error}")
            if s.error and s.node != V:
                problems.append(f"{s.where()}: failed on a node that is alive")
            if s.error and s.node == V and s.failed_at < t_kill:
                problems.append(f"{s.where()}: failed {t_kill - s.failed_at:.3f} s before the node was killed")
            if s.retry_error:
                problems.append(f"{s.where()}: the retry on a live node failed")
        failed = [s for s in sends if s.error]
        in_flight = [s for s in failed if s.started < t_kill]
        assert len(failed) > 0, "no send failed: the kill happened while nothing went to the victim?"

        # ---- transcripts, read through both surviving nodes ----
        unacked_stored = 0
        for chat in chats:
            transcript = full_transcript(parts[A], chat.connection_token)
            again = full_transcript(parts[B], chat.connection_token)
            if again != transcript:
                problems.append(f"chat {chat.index}: GetTranscript through node A and node B differ "
                                f"({len(transcript)} vs {len(again)} items)")
            label = f"chat {chat.index} (contact {chat.contact_id})"
            ids = [i["Id"] for i in transcript]
            dup_ids = [i for i, n in collections.Counter(ids).items() if n > 1]
            if dup_ids:
                problems.append(f"{label}: item ids appear more than once in the transcript: {dup_ids}")
            messages = [i for i in transcript if i.get("Type") == "MESSAGE"]
            msg_ids = [m["Id"] for m in messages]
            position = {m["Id"]: p for p, m in enumerate(messages)}
            by_content = collections.defaultdict(list)
            for m in messages:
                by_content[m.get("Content")].append(m["Id"])
            attempts = {s.content: s for s in by_chat[chat.index]}
            for content, mids in by_content.items():
                if content not in attempts:
                    problems.append(f"{label}: transcript holds a message nobody sent: {content!r} {mids}")
                elif len(mids) > 1:
                    problems.append(f"{label}: {attempts[content].where()} is stored {len(mids)} times: {mids}")
            for s in by_chat[chat.index]:
                if s.id is not None:
                    n = ids.count(s.id)
                    if n != 1:
                        problems.append(f"{label}: acknowledged {s.where()} (Id {s.id}) is in the transcript "
                                        f"{n} times")
                    elif messages[position[s.id]].get("Content") != s.content:
                        problems.append(f"{label}: Id {s.id} of {s.where()} holds "
                                        f"{messages[position[s.id]].get('Content')!r}")
                elif s.content in by_content:
                    unacked_stored += 1
            # per-sender order: a thread's acknowledged sends to this chat, in the order it made them
            per_thread = collections.defaultdict(list)
            for s in by_chat[chat.index]:
                if s.id in position:
                    per_thread[s.thread].append(s)
            for t, ss in per_thread.items():
                ss.sort(key=lambda s: s.k)
                for a, b in zip(ss, ss[1:]):
                    if position[a.id] > position[b.id]:
                        problems.append(f"{label}: thread {t} sent {a.content!r} (acknowledged at "
                                        f"{a.finished - traffic_started:.3f} s) before {b.content!r} (started "
                                        f"{b.started - traffic_started:.3f} s) but the transcript has them the "
                                        f"other way round")

            # sockets that stayed up: everything, once, in transcript order
            for r in chat.readers:
                got = r.message_ids()
                if r.node == V:
                    if got != msg_ids[:len(got)]:
                        problems.append(f"{label}: {r.label} (killed) received {len(got)} messages that are "
                                        f"not the start of the transcript (first difference at "
                                        f"{_first_difference(got, msg_ids)})")
                    continue
                if r.closed:
                    problems.append(f"{label}: {r.label} was closed by the server ({r.error})")
                if got != msg_ids:
                    problems.append(f"{label}: {r.label} received {len(got)} messages, the transcript has "
                                    f"{len(msg_ids)}; {_diff(got, msg_ids)}")
                all_ids = [i["Id"] for i in r.items()]
                dups = [i for i, n in collections.Counter(all_ids).items() if n > 1]
                if dups:
                    problems.append(f"{label}: {r.label} received items more than once: {dups}")

            # the reopened socket and the catch-up through GetTranscript
            if chat.reconnected:
                r = chat.reconnected
                got = r.message_ids()
                start = msg_ids.index(got[0]) if got and got[0] in position else None
                if start is None or got != msg_ids[start:]:
                    problems.append(f"{label}: {r.label} did not receive a contiguous run of the transcript "
                                    f"up to its end: {_diff(got, msg_ids[start or 0:])}")
                late = [s for s in by_chat[chat.index] if s.id and s.started > r.subscribed_at and s.id not in got]
                if late:
                    problems.append(f"{label}: {len(late)} messages sent after {r.label} was subscribed never "
                                    f"reached it, e.g. {late[0].where()} (Id {late[0].id})")
                caught = message_ids(chat.catchup)
                if caught != msg_ids[:len(caught)]:
                    problems.append(f"{label}: the catch-up GetTranscript is not a prefix of the final "
                                    f"transcript: {_first_difference(caught, msg_ids)}")
                missing = [s for s in by_chat[chat.index]
                           if s.id and s.finished < chat.catchup_started and s.id not in caught]
                if missing:
                    problems.append(f"{label}: the catch-up GetTranscript after the reconnect lacks "
                                    f"{len(missing)} acknowledged messages, e.g. {missing[0].where()} "
                                    f"(Id {missing[0].id})")
                if start is not None and start > len(caught):
                    problems.append(f"{label}: gap between the catch-up transcript ({len(caught)} messages) "
                                    f"and the first message on {r.label} (transcript position {start}): "
                                    f"{msg_ids[len(caught):start]}")

            contact = admins[A].describe_contact(InstanceId=instance_id, ContactId=chat.contact_id)["Contact"]
            if "DisconnectTimestamp" in contact:
                problems.append(f"{label}: ended although nobody ended it "
                                f"(DisconnectTimestamp {contact['DisconnectTimestamp']})")

        acked = sum(1 for s in sends if s.id)
        print(f"{len(sends)} sends, {acked} acknowledged, {len(failed)} failed on the killed node "
              f"({len(in_flight)} in flight at the kill, {sum(1 for s in failed if s.id)} acknowledged on retry, "
              f"{unacked_stored} unacknowledged but stored); traffic {traffic_ended - traffic_started:.1f} s")

        # ---- the victim's chat timers fire on the surviving nodes, once ----
        for contact_id, created, r in timer_chats:
            while (not any(i.get("ContentType") == ENDED for i in r.items()) and not r.closed
                   and time.monotonic() < created + 15):
                time.sleep(0.02)
            seen_at = time.monotonic() - created
            ended = [i for i in r.items() if i.get("ContentType") == ENDED]
            if not ended:
                problems.append(f"timed chat {contact_id} (60 timer minutes = 6 s, created on the killed node "
                                f"{t_kill - created:.1f} s before the kill): no chat.ended on {r.label} "
                                f"{seen_at:.1f} s after it was created (socket closed: {r.closed} {r.error or ''})")
                continue
            if not 4.5 <= seen_at <= 15:
                problems.append(f"timed chat {contact_id}: chat.ended arrived {seen_at:.1f} s after creation")
            close_by = time.monotonic() + 3
            while not r.closed and time.monotonic() < close_by:
                time.sleep(0.02)
            if not r.closed:
                problems.append(f"timed chat {contact_id}: {r.label} still open 3 s after chat.ended")
            if len(ended) != 1:
                problems.append(f"timed chat {contact_id}: {r.label} received {len(ended)} chat.ended: {ended}")
        time.sleep(2.0)  # two more sweeps on each surviving node: a duplicate end would show now
        counts = cluster.item_counts([c for c, _, _ in timer_chats], ENDED)
        for contact_id, n in counts.items():
            if n != 1:
                problems.append(f"timed chat {contact_id}: {n} chat.ended items stored (expected exactly 1)")
        for contact_id, _, _ in timer_chats:
            for n in live:
                contact = admins[n].describe_contact(InstanceId=instance_id, ContactId=contact_id)["Contact"]
                if "DisconnectTimestamp" not in contact:
                    problems.append(f"timed chat {contact_id}: DescribeContact on node {n} has no DisconnectTimestamp "
                                    f"(LastUpdateTimestamp {contact.get('LastUpdateTimestamp')})")
                    continue
                lasted = (contact["DisconnectTimestamp"] - contact["InitiationTimestamp"]).total_seconds()
                if not 4.5 <= lasted <= 15:
                    problems.append(f"timed chat {contact_id}: lasted {lasted:.1f} s (60 timer minutes = 6 s)")

        assert nodes[A].alive() and nodes[B].alive(), "a surviving node died"
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    finally:
        stop.set()
        for r in all_readers:
            r.close()


def _first_difference(got: list[str], want: list[str]) -> str:
    for p, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return f"position {p}: got {a}, transcript has {b}"
    return f"lengths {len(got)} vs {len(want)}"


def _diff(got: list[str], want: list[str]) -> str:
    got_set, want_set = set(got), set(want)
    missing = [i for i in want if i not in got_set]
    extra = [i for i in got if i not in want_set]
    dups = [i for i, n in collections.Counter(got).items() if n > 1]
    return (f"missing {len(missing)} {missing[:5]}, unexpected {len(extra)} {extra[:5]}, repeated {dups[:5]}, "
            f"{_first_difference(got, want)}")


# --------------------------------------------------------------------------------------------
# A node that dies right after acknowledging
# --------------------------------------------------------------------------------------------


def test_message_acknowledged_by_a_node_that_dies_at_once_reaches_the_other_nodes(cluster):
    """SendMessage answered 200 by node V, then V is killed the moment the answer arrives, and
    nobody writes to the chat again: the socket on node A must still get the message (it is
    committed: GetTranscript has it). Three rounds, V restarted in between."""
    nodes = cluster.start(2)
    A, V = 0, 1
    admin = nodes[A].client("connect")
    part = nodes[A].client("connectparticipant", access_key="dummy", secret_key="dummy")
    instance_id, flow_id = instance_and_flow([admin, nodes[V].client("connect")])
    lost = []
    for round_ in range(3):
        r = admin.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": f"Round {round_}"})
        conn = part.create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                                  Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])
        token = conn["ConnectionCredentials"]["ConnectionToken"]
        reader = Reader(f"round {round_} socket on node {A}", conn["Websocket"]["Url"], A)
        try:
            # Raw HTTP on an open connection, so the kill follows the answer as closely as a
            # client (or a load balancer) can follow it.
            h = http.client.HTTPConnection("127.0.0.1", nodes[V].port, timeout=5)
            h.connect()
            h.request("POST", "/participant/message",
                      body=json.dumps({"ContentType": "text/plain", "Content": f"last words {round_}",
                                       "ClientToken": str(uuid.uuid4())}),
                      headers={"X-Amz-Bearer": token, "Content-Type": "application/json"})
            resp = h.getresponse()
            body = resp.read()
            nodes[V].kill()
            h.close()
            assert resp.status == 200, f"SendMessage through node {V}: {resp.status} {body!r}"
            msg_id = json.loads(body)["Id"]
            deadline = time.monotonic() + 5
            while msg_id not in reader.message_ids() and not reader.closed and time.monotonic() < deadline:
                time.sleep(0.01)
            stored = msg_id in message_ids(full_transcript(part, token))
            if msg_id not in reader.message_ids():
                lost.append(f"round {round_}: message {msg_id} acknowledged (200) by node {V}, which was then "
                            f"killed; stored (GetTranscript through node {A}): {stored}; not on the socket on "
                            f"node {A} after 5 s (socket items: {[i.get('Id') for i in reader.items()]})")
            else:
                assert stored, f"round {round_}: {msg_id} reached the socket but GetTranscript lacks it"
        finally:
            reader.close()
        nodes[V].start(port=nodes[V].port)
    assert not lost, f"{len(lost)} of 3 acknowledged messages never reached the other node:\n" + "\n".join(lost)
