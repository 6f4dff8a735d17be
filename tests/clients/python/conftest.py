"""pytest fixtures: one Liaison server per test module, boto3 clients pointed at it.

The binary is not built here; `scripts/test.sh` builds it. Override its path with LIAISON_BIN
(default: target/debug/liaison relative to the repository root). Server logs go to
target/client-test-logs/<module>.log (or LIAISON_TEST_LOG_DIR).
"""

from __future__ import annotations

import pytest

from liaison_harness import LiaisonServer, log_dir, quiet_flow, start_chat

_failed_modules: set[str] = set()


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    name = request.module.__name__.rsplit(".", 1)[-1]
    data = tmp_path_factory.mktemp(f"{name}-data")
    log = log_dir() / f"{name}.log"
    log.write_bytes(b"")
    srv = LiaisonServer(data / "data", log)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def connect(server):
    """Connect API client (SigV4 with the harness keys), default retries."""
    return server.client("connect")


@pytest.fixture(scope="module")
def connect1(server):
    """Connect API client with a single attempt, for error paths."""
    return server.client("connect", retries=False)


@pytest.fixture(scope="module")
def connect_raw(server):
    """Single attempt and no client-side parameter validation: the server must do the checking."""
    return server.client("connect", retries=False, validate=False)


@pytest.fixture(scope="module")
def part(server):
    """Participant API client. Credentials are dummies: the participant API authenticates by X-Amz-Bearer."""
    return server.client("connectparticipant", access_key="dummy", secret_key="dummy")


@pytest.fixture(scope="module")
def part1(server):
    return server.client("connectparticipant", retries=False, access_key="dummy", secret_key="dummy")


@pytest.fixture(scope="module")
def part_raw(server):
    return server.client("connectparticipant", retries=False, validate=False,
                         access_key="dummy", secret_key="dummy")


@pytest.fixture(scope="module")
def instance_id(connect):
    r = connect.list_instances()
    summaries = r["InstanceSummaryList"]
    assert len(summaries) == 1, f"expected exactly one instance after first start, got {summaries}"
    return summaries[0]["Id"]


@pytest.fixture(scope="module")
def flow_id(connect, instance_id):
    """A flow that keeps chats open and quiet (see liaison_harness.quiet_flow)."""
    return quiet_flow(connect, instance_id)


@pytest.fixture
def chat(connect, part, instance_id, flow_id):
    """Factory: chat(**StartChatContact kwargs) -> Chat with a connection (token + websocket URL)."""
    def make(**kw):
        return start_chat(connect, instance_id, flow_id, part=part, **kw)
    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        _failed_modules.add(item.module.__name__.rsplit(".", 1)[-1])


def pytest_terminal_summary(terminalreporter):
    if _failed_modules:
        d = log_dir()
        terminalreporter.write_line(
            "server logs of modules with failures: " + ", ".join(str(d / f"{m}.log") for m in sorted(_failed_modules)))
