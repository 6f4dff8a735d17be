"""Chat widgets against the real binary: `liaison widget` manages them on the data directory of a
running server, a site's backend signs widget tokens with PyJWT (as Connect's documentation
shows), and the browser endpoint starts the chat that boto3 then joins."""

from __future__ import annotations

import datetime
import json
import subprocess
import time

import jwt
import pytest

from liaison_harness import liaison_bin, raw_request

SHOP = "https://shop.example.com"


def cli(server, *args: str) -> dict:
    done = subprocess.run([str(liaison_bin()), "widget", *args, "--data", str(server.data_dir)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start_chat(server, widget_id: str, body: dict, origin: str = SHOP):
    return raw_request(server, "POST", f"/widget/{widget_id}/start-chat", json.dumps(body),
                       {"Content-Type": "application/json", "Origin": origin})


@pytest.fixture(scope="module")
def echo_flow(connect, instance_id) -> str:
    content = {"Version": "2019-10-30", "StartAction": "say", "Actions": [
        {"Identifier": "say", "Type": "MessageParticipant",
         "Parameters": {"Text": "Hello $.Attributes.name from $.Attributes.HostedWidget-page"},
         "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "wait", "ErrorType": "NoMatchingError"}]}},
        {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": "600", "Events": ["CustomerReturned"]},
         "Transitions": {"NextAction": "wait", "Errors": [{"NextAction": "wait", "ErrorType": "NoMatchingError"}]}}]}
    return connect.create_contact_flow(InstanceId=instance_id, Name="Widget echo", Type="CONTACT_FLOW",
                                       Content=json.dumps(content))["ContactFlowId"]


def test_cli_widget_pyjwt_token_and_a_boto3_customer(server, part, echo_flow):
    created = cli(server, "create", "--name", "Shop", "--flow", echo_flow, "--origin", SHOP, "--secure")
    widget_id = created["Widget"]["Id"]
    secret = created["SecurityKey"]["Secret"]
    assert cli(server, "show", widget_id)["Widget"]["SecurityKeys"][0]["KeyId"] == created["SecurityKey"]["KeyId"]

    now = datetime.datetime.now(datetime.timezone.utc)
    payload = {"sub": widget_id, "iat": now, "exp": now + datetime.timedelta(seconds=500),
               "attributes": {"name": "Jane", "memberID": "123456789"}}
    token = jwt.encode(payload, secret, algorithm="HS256", headers={"typ": "JWT", "alg": "HS256"})
    r = start_chat(server, widget_id, {"Token": token, "DisplayName": "Jane",
                                       "ContactAttributes": {"page": "pricing"}})
    assert r.status == 200, r.json()
    started = r.json()
    assert started["ParticipantEndpoint"] == server.endpoint

    conn = part.create_participant_connection(ParticipantToken=started["ParticipantToken"],
                                              Type=["CONNECTION_CREDENTIALS"])
    token = conn["ConnectionCredentials"]["ConnectionToken"]
    texts = []
    for _ in range(100):
        items = part.get_transcript(ConnectionToken=token, MaxResults=100)["Transcript"]
        texts = [i.get("Content") for i in items]
        if "Hello Jane from pricing" in texts:
            break
        time.sleep(0.05)
    assert "Hello Jane from pricing" in texts

    # Another origin is refused; a token signed with another secret too.
    assert start_chat(server, widget_id, {"Token": token}, origin="https://evil.example.com").status == 403
    forged = jwt.encode(payload, "a-guessed-secret-that-is-long-enough", algorithm="HS256")
    r = start_chat(server, widget_id, {"Token": forged})
    assert r.status == 403 and r.json()["__type"] == "AccessDeniedException"

    # Rotation through the CLI, then deletion.
    second = cli(server, "add-key", widget_id)["SecurityKey"]
    cli(server, "delete-key", widget_id, created["SecurityKey"]["KeyId"])
    assert start_chat(server, widget_id, {"Token": jwt.encode(payload, secret, algorithm="HS256")}).status == 403
    assert start_chat(server, widget_id, {"Token": jwt.encode(payload, second["Secret"], algorithm="HS256")}).status == 200
    cli(server, "delete", widget_id)
    assert cli(server, "list") == {"Widgets": []}
