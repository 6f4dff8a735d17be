"""Contact flows through boto3: managing them (CreateContactFlow, DescribeContactFlow,
ListContactFlows, UpdateContactFlowContent/Name/Metadata, DeleteContactFlow), the problems an
import is refused with, the public flow corpus, and chats running their flows end to end.

The module uses conftest's server (LIAISON_TIMER_MINUTE_MS=100): one flow second lasts 100/60 ms,
so a Wait of 60 seconds lasts 100 ms and the "hold" Wait below (a week) outlasts any test.

What a flow says reaches the chat as SYSTEM messages. A socket carries only what happens after it
was opened, so the tests read GetTranscript (while the chat is open) or, where a test must watch
the socket, hold the flow in a Wait that the customer's first message releases.

The corpus test reads the public flow files of /work/shared/flows-public (or LIAISON_FLOW_CORPUS)
and is skipped without them. The custom-bot Wait runs on a second server with a longer timer
minute (see `bot_server`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from liaison_harness import (ENDED, REPO_ROOT, ChatSocket, LiaisonServer, assert_raw_aws_error, aws_error, log_dir,
                             raw_request, signed_request, start_chat, strip_meta, transcript_all, wait_until)

FLOW_VERSION = "2019-10-30"
MAX_CONTENT_CHARS = 256_000
SYSTEM_DISPLAY_NAME = "SYSTEM_MESSAGE"

DEFAULT_CHAT_FLOW = "Default chat flow"
DEFAULT_CUSTOMER_QUEUE = "Default customer queue"
DEFAULT_DISCONNECT_FLOW = "Default disconnect flow"
DEFAULT_GREETING = "Thanks for contacting us. An agent will be with you shortly."
QUEUE_WELCOME = "You are in the queue. The next available agent will answer you here."
QUEUE_REMINDER = "Thanks for waiting. An agent will be with you as soon as possible."

UNSUPPORTED_MARK = "is not supported by Liaison"

# Action types Liaison knows but does not run (a published flow with one is refused).
UNSUPPORTED_TYPES = {
    "ConnectParticipantWithLexBot", "CheckVoiceId", "StartVoiceIdStream", "CheckOutboundCallStatus",
    "CompleteOutboundCall", "TransferContactToAgent", "TransferParticipantToThirdParty",
    "UpdateContactCallbackNumber", "CreateCallbackContact", "UpdateContactMediaStreamingBehavior",
    "UpdatePreviousContactParticipantState", "UpdateContactMediaProcessing", "GetCustomerProfile",
    "CreateCustomerProfile", "UpdateCustomerProfile", "AssociateContactToCustomerProfile",
    "GetCustomerProfileObject", "GetCalculatedAttributesForCustomerProfile", "CreateCase", "GetCase",
    "UpdateCase", "CreateWisdomSession", "CreateTask", "ResumeContact", "StartOutboundChatContact",
}

CORPUS_DIR = Path(os.environ.get("LIAISON_FLOW_CORPUS", REPO_ROOT.parent / "shared" / "flows-public"))


# --------------------------------------------------------------------------------------------
# Building flows
# --------------------------------------------------------------------------------------------


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


def flow(start: str, actions: list[dict], *, ascii_only: bool = True, **extra) -> str:
    doc = {"Version": FLOW_VERSION, "StartAction": start, "Metadata": {"entryPointPosition": {"x": 40, "y": 40}},
           "Actions": actions}
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=ascii_only)


def on_error(next_action: str) -> list[dict]:
    return [{"NextAction": next_action, "ErrorType": "NoMatchingError"}]


def equals(value: str, next_action: str) -> dict:
    return {"NextAction": next_action, "Condition": {"Operator": "Equals", "Operands": [value]}}


def say(identifier: str, text: str, next_action: str | None = None) -> dict:
    transitions = {} if next_action is None else {"NextAction": next_action, "Errors": on_error(next_action)}
    return {"Identifier": identifier, "Type": "MessageParticipant", "Parameters": {"Text": text},
            "Transitions": transitions}


def disconnect(identifier: str) -> dict:
    return {"Identifier": identifier, "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}


def hold(identifier: str) -> dict:
    """A Wait of a week that loops on itself: keeps the chat open and the flow quiet."""
    return {"Identifier": identifier, "Type": "Wait", "Parameters": {"TimeLimitSeconds": "604800"},
            "Transitions": {"Conditions": [equals("WaitCompleted", identifier)], "Errors": on_error(identifier)}}


READY = "Write when you are ready"


def until_customer_writes(identifier: str, next_action: str) -> list[dict]:
    """Says READY, then waits (up to a week) for the customer's message: lets a test subscribe its
    socket, or add a bot, before the flow goes on. Start the flow at `identifier`."""
    return [say(identifier, READY, f"{identifier}-wait"),
            {"Identifier": f"{identifier}-wait", "Type": "Wait",
             "Parameters": {"TimeLimitSeconds": "604800", "Events": ["CustomerReturned"]},
             "Transitions": {"Conditions": [equals("CustomerReturned", next_action)],
                             "Errors": on_error(next_action)}}]


def write_when_ready(part, chat, content: str) -> dict:
    """Sends the customer's message as soon as the flow said READY: the Wait that follows takes
    it even when it arrives before the Wait is stored."""
    assert texts(system_messages(part, chat, 1))[0] == READY
    return part.send_message(ConnectionToken=chat.connection_token, ContentType="text/plain", Content=content)


def greeting_flow(text: str = "Hi $.Attributes.name") -> str:
    return flow("hello", [say("hello", text, "bye"), disconnect("bye")])


def lex_flow() -> str:
    return flow("bot", [
        {"Identifier": "bot", "Type": "ConnectParticipantWithLexBot",
         "Parameters": {"Text": "How can I help?",
                        "LexV2Bot": {"AliasArn": "arn:aws:lex:us-east-1:000000000000:bot-alias/X/Y"}},
         "Transitions": {"NextAction": "bye", "Errors": on_error("bye")}},
        disconnect("bye"),
    ])


def create(connect, instance_id: str, name: str, content: str, *, flow_type: str = "CONTACT_FLOW", **kw) -> dict:
    return connect.create_contact_flow(InstanceId=instance_id, Name=name, Type=flow_type, Content=content, **kw)


def import_flow(connect, instance_id: str, name: str, start: str, actions: list[dict]) -> str:
    return create(connect, instance_id, unique(name), flow(start, actions))["ContactFlowId"]


def describe(connect, instance_id: str, flow_ref: str) -> dict:
    return connect.describe_contact_flow(InstanceId=instance_id, ContactFlowId=flow_ref)["ContactFlow"]


def all_summaries(connect, instance_id: str, **kw) -> list[dict]:
    pages = connect.get_paginator("list_contact_flows").paginate(InstanceId=instance_id, **kw)
    return [s for page in pages for s in page["ContactFlowSummaryList"]]


def flow_named(connect, instance_id: str, name: str) -> dict:
    found = [s for s in all_summaries(connect, instance_id) if s["Name"] == name]
    assert len(found) == 1, f"expected one flow named {name!r}, got {found}"
    return found[0]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def problems_of(error: ClientError) -> list[str]:
    problems = error.response.get("problems")
    assert isinstance(problems, list) and problems, f"InvalidContactFlowException without problems: {error.response}"
    for p in problems:
        assert isinstance(p, dict) and isinstance(p.get("message"), str) and p["message"], problems
    return [p["message"] for p in problems]


def refused_problems(connect1, instance_id: str, content: str, *, status: str | None = None,
                     name: str | None = None) -> list[str]:
    """Creates a flow that must be refused with InvalidContactFlowException; its problems."""
    kw = {} if status is None else {"Status": status}
    name = name or unique("Refused")
    with aws_error("InvalidContactFlowException", 400) as refused:
        create(connect1, instance_id, name, content, **kw)
    assert not [s for s in all_summaries(connect1, instance_id) if s["Name"] == name], "a refused flow is not stored"
    return problems_of(refused.error)


# --------------------------------------------------------------------------------------------
# Reading what the flow said
# --------------------------------------------------------------------------------------------


def system_messages(part, chat, count: int, timeout: float = 10) -> list[dict]:
    """The transcript's SYSTEM messages, oldest first, once at least `count` are there."""
    def said():
        items = [i for i in transcript_all(part, chat.connection_token)
                 if i.get("ParticipantRole") == "SYSTEM" and i.get("Type") == "MESSAGE"]
        return items if len(items) >= count else None
    return wait_until(said, timeout, f"{count} SYSTEM messages from the flow")


def texts(items: list[dict]) -> list[str]:
    return [i["Content"] for i in items]


def assert_system_message(item: dict, contact_id: str) -> None:
    assert item["Type"] == "MESSAGE", item
    assert item["ParticipantRole"] == "SYSTEM", item
    assert item["DisplayName"] == SYSTEM_DISPLAY_NAME, item
    assert item["ContentType"] == "text/plain", item
    assert item.get("ContactId") == contact_id, item
    assert item["Id"] and item["AbsoluteTime"], item


def still_says(part, chat, expected: list[str], quiet_for: float = 0.5) -> None:
    """The flow said exactly `expected` and nothing more for `quiet_for` seconds."""
    time.sleep(quiet_for)
    assert texts(system_messages(part, chat, len(expected))) == expected


def open_socket(url: str) -> ChatSocket:
    ws = ChatSocket(url)
    ack = ws.subscribe()
    assert ack["content"]["status"] == "success", ack
    return ws


@pytest.fixture
def sockets():
    opened: list[ChatSocket] = []

    def open_(url: str) -> ChatSocket:
        ws = open_socket(url)
        opened.append(ws)
        return ws
    yield open_
    for ws in opened:
        ws.close()


@pytest.fixture(scope="module")
def basic_queue_arn(connect, instance_id) -> str:
    """BasicQueue's ARN, read from the default chat flow (the one flow that names it)."""
    content = json.loads(describe(connect, instance_id, flow_named(connect, instance_id, DEFAULT_CHAT_FLOW)["Id"])
                         ["Content"])
    queue_id = next(a["Parameters"]["QueueId"] for a in content["Actions"] if a["Type"] == "UpdateContactTargetQueue")
    instance_arn = connect.describe_instance(InstanceId=instance_id)["Instance"]["Arn"]
    return queue_id if queue_id.startswith("arn:") else f"{instance_arn}/queue/{queue_id}"


# --------------------------------------------------------------------------------------------
# 1. Managing flows
# --------------------------------------------------------------------------------------------


def test_built_in_flows(connect, instance_id):
    summaries = all_summaries(connect, instance_id)
    by_name = {s["Name"]: s for s in summaries}
    assert len(by_name) == len(summaries), f"flow names are unique: {summaries}"
    expected = {DEFAULT_CHAT_FLOW: "CONTACT_FLOW", DEFAULT_CUSTOMER_QUEUE: "CUSTOMER_QUEUE",
                DEFAULT_DISCONNECT_FLOW: "CONTACT_FLOW"}
    for name, flow_type in expected.items():
        s = by_name.get(name)
        assert s, f"no built-in flow {name!r} in {sorted(by_name)}"
        assert s["ContactFlowType"] == flow_type, s
        assert (s["ContactFlowState"], s["ContactFlowStatus"]) == ("ACTIVE", "PUBLISHED"), s
        assert s["Arn"].endswith(f"/contact-flow/{s['Id']}"), s
        described = describe(connect, instance_id, s["Id"])
        assert described["Name"] == name and described["Type"] == flow_type
        doc = json.loads(described["Content"])
        assert doc["Version"] == FLOW_VERSION and doc["Actions"], doc
        assert described["FlowContentSha256"] == sha256(described["Content"])


def test_create_and_describe_by_id_and_arn(connect, instance_id):
    # Content is stored verbatim: indentation, key order, non-ASCII text and all.
    content = json.dumps({
        "Version": FLOW_VERSION,
        "StartAction": "hello",
        "Metadata": {"entryPointPosition": {"x": 40, "y": 40}, "name": "Grüße"},
        "Actions": [say("hello", "¡Hola $.Attributes.name! 👋 ¿Qué tal?", "bye"), disconnect("bye")],
    }, indent=3, ensure_ascii=False) + "\n"
    name = unique("Greeting")
    before = time.time()
    created = create(connect, instance_id, name, content, Description="says hi")
    assert set(strip_meta(created)) >= {"ContactFlowId", "ContactFlowArn", "FlowContentSha256"}, created
    flow_id, arn = created["ContactFlowId"], created["ContactFlowArn"]
    assert arn.startswith("arn:aws:connect:us-east-1:"), arn
    assert arn.endswith(f"/contact-flow/{flow_id}"), arn
    assert f"instance/{instance_id}/" in arn, arn
    assert created["FlowContentSha256"] == sha256(content)

    for ref in (flow_id, arn):
        f = describe(connect, instance_id, ref)
        assert f["Id"] == flow_id and f["Arn"] == arn, f
        assert f["Name"] == name and f["Type"] == "CONTACT_FLOW" and f["Description"] == "says hi", f
        assert (f["State"], f["Status"]) == ("ACTIVE", "PUBLISHED"), f
        assert f["Content"] == content, "Content comes back verbatim"
        assert f["FlowContentSha256"] == created["FlowContentSha256"], f
        assert f["LastModifiedRegion"] == "us-east-1", f
        modified = f["LastModifiedTime"].timestamp()
        assert before - 5 <= modified <= time.time() + 5, f["LastModifiedTime"]

    # The instance may be named by its ARN too.
    instance_arn = connect.describe_instance(InstanceId=instance_id)["Instance"]["Arn"]
    assert describe(connect, instance_arn, flow_id)["Id"] == flow_id

    summary = flow_named(connect, instance_id, name)
    assert summary == {"Id": flow_id, "Arn": arn, "Name": name, "ContactFlowType": "CONTACT_FLOW",
                       "ContactFlowState": "ACTIVE", "ContactFlowStatus": "PUBLISHED"}


def test_create_duplicate_name(connect, connect1, instance_id):
    name = unique("Twice")
    create(connect, instance_id, name, greeting_flow())
    with aws_error("DuplicateResourceException", 409, message_contains=name):
        create(connect1, instance_id, name, greeting_flow("again"))
    with aws_error("DuplicateResourceException", 409):
        create(connect1, instance_id, DEFAULT_CHAT_FLOW, greeting_flow())
    assert len([s for s in all_summaries(connect, instance_id) if s["Name"] == name]) == 1


def test_list_with_type_filter_and_pages(connect, instance_id):
    queue_name = unique("Queue music")
    queue_flow = flow("welcome", [
        say("welcome", "Please hold", "end"),
        {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}},
    ])
    queue_id = create(connect, instance_id, queue_name, queue_flow, flow_type="CUSTOMER_QUEUE")["ContactFlowId"]
    chat_name = unique("Inbound")
    create(connect, instance_id, chat_name, greeting_flow())

    everything = all_summaries(connect, instance_id)
    names = [s["Name"] for s in everything]
    assert {queue_name, chat_name, DEFAULT_CHAT_FLOW, DEFAULT_CUSTOMER_QUEUE} <= set(names)
    assert len(names) == len(set(names)), names

    queues = all_summaries(connect, instance_id, ContactFlowTypes=["CUSTOMER_QUEUE"])
    assert queues and all(s["ContactFlowType"] == "CUSTOMER_QUEUE" for s in queues), queues
    assert {DEFAULT_CUSTOMER_QUEUE, queue_name} <= {s["Name"] for s in queues}
    assert chat_name not in {s["Name"] for s in queues}
    assert describe(connect, instance_id, queue_id)["Type"] == "CUSTOMER_QUEUE"

    both = all_summaries(connect, instance_id, ContactFlowTypes=["CUSTOMER_QUEUE", "CONTACT_FLOW"])
    assert sorted(s["Id"] for s in both) == sorted(s["Id"] for s in everything
                                                   if s["ContactFlowType"] in ("CUSTOMER_QUEUE", "CONTACT_FLOW"))
    assert all_summaries(connect, instance_id, ContactFlowTypes=["AGENT_WHISPER"]) == []

    # One at a time, the pages add up to the whole list.
    paged, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = connect.list_contact_flows(InstanceId=instance_id, MaxResults=1, **kw)
        assert len(page["ContactFlowSummaryList"]) <= 1
        paged += page["ContactFlowSummaryList"]
        token = page.get("NextToken")
        if not token:
            break
    assert [s["Id"] for s in paged] == [s["Id"] for s in everything]


def test_update_content_name_and_metadata(connect, connect1, instance_id):
    name = unique("Changing")
    created = create(connect, instance_id, name, greeting_flow("first"), Description="v1")
    flow_id, arn = created["ContactFlowId"], created["ContactFlowArn"]
    first = describe(connect, instance_id, flow_id)

    # Content, by ARN.
    second = greeting_flow("second  $.Attributes.name") + "  "
    connect.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=arn, Content=second)
    f = describe(connect, instance_id, flow_id)
    assert f["Content"] == second and f["FlowContentSha256"] == sha256(second) != created["FlowContentSha256"]
    assert (f["Name"], f["Description"], f["Status"], f["State"]) == (name, "v1", "PUBLISHED", "ACTIVE")
    assert f["LastModifiedTime"] >= first["LastModifiedTime"]

    # Content updates are checked as CreateContactFlow checks them; a refused one changes nothing.
    with aws_error("InvalidContactFlowException", 400) as refused:
        connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=flow_id,
                                             Content=flow("hello", [say("hello", "x", "gone")]))
    assert "Block 'hello': transition to 'gone', which is not the Identifier of any action." \
        in problems_of(refused.error)
    with aws_error("InvalidContactFlowException", 400) as refused:
        connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=arn, Content=lex_flow())
    assert any(UNSUPPORTED_MARK in p for p in problems_of(refused.error)), "a published flow stays runnable"
    assert describe(connect, instance_id, flow_id)["Content"] == second

    # Name and description, by id; renaming to its own name is no conflict.
    renamed = unique("Renamed")
    connect.update_contact_flow_name(InstanceId=instance_id, ContactFlowId=flow_id, Name=renamed, Description="v2")
    connect.update_contact_flow_name(InstanceId=instance_id, ContactFlowId=arn, Name=renamed)
    f = describe(connect, instance_id, flow_id)
    assert (f["Name"], f["Description"]) == (renamed, "v2"), f
    connect.update_contact_flow_name(InstanceId=instance_id, ContactFlowId=flow_id, Description="only the description")
    f = describe(connect, instance_id, flow_id)
    assert (f["Name"], f["Description"]) == (renamed, "only the description"), f
    assert not [s for s in all_summaries(connect, instance_id) if s["Name"] == name], "the old name is gone"
    with aws_error("DuplicateResourceException", 409):
        connect1.update_contact_flow_name(InstanceId=instance_id, ContactFlowId=flow_id, Name=DEFAULT_CHAT_FLOW)

    # Metadata: archive, rename, describe; then back to ACTIVE.
    connect.update_contact_flow_metadata(InstanceId=instance_id, ContactFlowId=arn, ContactFlowState="ARCHIVED")
    f = describe(connect, instance_id, flow_id)
    assert (f["State"], f["Name"], f["Description"], f["Content"]) == \
        ("ARCHIVED", renamed, "only the description", second), f
    assert flow_named(connect, instance_id, renamed)["ContactFlowState"] == "ARCHIVED"
    third = unique("Archived")
    connect.update_contact_flow_metadata(InstanceId=instance_id, ContactFlowId=flow_id, Name=third,
                                         Description="v3", ContactFlowState="ACTIVE")
    f = describe(connect, instance_id, arn)
    assert (f["State"], f["Name"], f["Description"]) == ("ACTIVE", third, "v3"), f
    with aws_error("DuplicateResourceException", 409):
        connect1.update_contact_flow_metadata(InstanceId=instance_id, ContactFlowId=flow_id,
                                              Name=DEFAULT_CUSTOMER_QUEUE)
    assert describe(connect, instance_id, flow_id)["Name"] == third


def test_delete(connect, connect1, instance_id):
    name = unique("Short-lived")
    created = create(connect, instance_id, name, greeting_flow())
    flow_id, arn = created["ContactFlowId"], created["ContactFlowArn"]
    connect.delete_contact_flow(InstanceId=instance_id, ContactFlowId=arn)
    assert flow_id not in {s["Id"] for s in all_summaries(connect, instance_id)}
    for ref in (flow_id, arn):
        with aws_error("ResourceNotFoundException", 404):
            connect1.describe_contact_flow(InstanceId=instance_id, ContactFlowId=ref)
    with aws_error("ResourceNotFoundException", 404):
        connect1.delete_contact_flow(InstanceId=instance_id, ContactFlowId=flow_id)
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=flow_id, Content=greeting_flow())
    with aws_error("ResourceNotFoundException", 404):
        connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                    ParticipantDetails={"DisplayName": "Late"})
    # The name is free again.
    again = create(connect, instance_id, name, greeting_flow())
    assert again["ContactFlowId"] != flow_id
    connect.delete_contact_flow(InstanceId=instance_id, ContactFlowId=again["ContactFlowId"])


def test_unknown_flow_and_instance(connect1, instance_id):
    missing = str(uuid.uuid4())
    calls = [
        lambda: connect1.describe_contact_flow(InstanceId=instance_id, ContactFlowId=missing),
        lambda: connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=missing,
                                                     Content=greeting_flow()),
        lambda: connect1.update_contact_flow_name(InstanceId=instance_id, ContactFlowId=missing, Name=unique("x")),
        lambda: connect1.update_contact_flow_metadata(InstanceId=instance_id, ContactFlowId=missing,
                                                      ContactFlowState="ARCHIVED"),
        lambda: connect1.delete_contact_flow(InstanceId=instance_id, ContactFlowId=missing),
        lambda: connect1.create_contact_flow(InstanceId=str(uuid.uuid4()), Name=unique("x"), Type="CONTACT_FLOW",
                                             Content=greeting_flow()),
        lambda: connect1.list_contact_flows(InstanceId=str(uuid.uuid4())),
    ]
    for call in calls:
        with aws_error("ResourceNotFoundException", 404):
            call()


def test_type_and_status_come_from_the_model(connect_raw, instance_id):
    with aws_error("InvalidParameterException", 400):
        connect_raw.create_contact_flow(InstanceId=instance_id, Name=unique("Typeless"), Type="IVR",
                                        Content=greeting_flow())


# --------------------------------------------------------------------------------------------
# 2. Problems: what an import is refused with
# --------------------------------------------------------------------------------------------


def test_problems_name_the_block_and_the_fault(connect1, instance_id):
    content = json.dumps({
        "Version": FLOW_VERSION,
        "StartAction": "hello",
        "Actions": [
            {"Identifier": "hello", "Type": "MessageParticipant", "Parameters": {"Text": "Hi $.Nowhere.x"},
             "Transitions": {"NextAction": "gone", "Errors": on_error("ask")}},
            {"Identifier": "ask", "Type": "MessageParticipant", "Parameters": {},
             "Transitions": {"NextAction": "odd"}},
            {"Identifier": "odd", "Type": "Levitate", "Parameters": {}, "Transitions": {"NextAction": "check"}},
            {"Identifier": "check", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.tier"},
             "Transitions": {"Conditions": [{"NextAction": "hello",
                                             "Condition": {"Operator": "Roughly", "Operands": ["1"]}}]}},
            {"Identifier": "set", "Type": "UpdateContactAttributes", "Parameters": {},
             "Transitions": {"NextAction": "hello"}},
            {"Identifier": "hello", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
        ],
    })
    problems = refused_problems(connect1, instance_id, content)
    for expected in [
        "Block 'hello': '$.Nowhere.x' refers to the unknown namespace 'Nowhere'.",
        "Block 'hello': transition to 'gone', which is not the Identifier of any action.",
        "Block 'ask': MessageParticipant needs one of the parameters Text, SSML, PromptId, Media.",
        "Block 'odd': unknown action type 'Levitate'.",
        "Block 'check': unknown condition operator 'Roughly'.",
        "Block 'set': UpdateContactAttributes needs the parameter Attributes.",
        "Block 'hello': Identifier is used by more than one action.",
    ]:
        assert expected in problems, f"missing {expected!r} in {problems}"
    assert not [p for p in problems if UNSUPPORTED_MARK in p], problems

    # Saving instead of publishing does not excuse faults.
    assert "Block 'odd': unknown action type 'Levitate'." in \
        refused_problems(connect1, instance_id, content, status="SAVED")


@pytest.mark.parametrize("content, expected", [
    ("not json at all", "The flow content is not valid JSON"),
    ("[]", "The flow content must be a JSON object."),
    (json.dumps({"Version": "2017-01-01", "StartAction": "a", "Actions": [disconnect("a")]}),
     "Version '2017-01-01' is not supported"),
    (json.dumps({"StartAction": "a", "Actions": [disconnect("a")]}), "Version is missing"),
    (json.dumps({"Version": FLOW_VERSION, "StartAction": "a"}), "Actions must be a list of actions."),
    (json.dumps({"Version": FLOW_VERSION, "Actions": [disconnect("a")]}), "StartAction is missing."),
    (flow("nowhere", [disconnect("a")]), "StartAction 'nowhere' is not the Identifier of any action."),
    (flow("a", [{"Identifier": "a", "Type": "Wait", "Parameters": {}, "Transitions": {}}]),
     "Block 'a': Wait needs one of the parameters TimeLimitSeconds, TimeoutSeconds."),
    (flow("a", [{"Identifier": "a", "Type": "TransferToFlow", "Parameters": {}, "Transitions": {}}]),
     "Block 'a': TransferToFlow needs the parameter ContactFlowId."),
    (flow("a", [{"Identifier": "a", "Type": "InvokeLambdaFunction", "Parameters": {}, "Transitions": {}}]),
     "Block 'a': InvokeLambdaFunction needs the parameter LambdaFunctionARN."),
    (flow("a", [{"Identifier": "a", "Parameters": {}, "Transitions": {}}]), "Block 'a': Type is missing."),
    (flow("a", [{"Identifier": "a", "Type": "UpdateContactAttributes",
                 "Parameters": {"Attributes": {"k": "$.Attributes['open"}}, "Transitions": {}}]),
     "Block 'a': the reference in '$.Attributes['open' has an unclosed ['…'] segment."),
    (flow("a:b", [disconnect("a:b")]), "Block 'a:b': Identifier may not contain ':'."),
    (flow("a", [say("a", "x", "b"), {"Identifier": "b", "Type": "Compare",
                                     "Parameters": {"ComparisonValue": "$.Attributes.x"},
                                     "Transitions": {"Conditions": [{"NextAction": "a"}]}}]),
     "Block 'b': each condition needs NextAction and a Condition with Operator and Operands."),
], ids=["not-json", "not-object", "old-version", "no-version", "no-actions", "no-start", "start-nowhere",
        "wait-without-limit", "transfer-without-flow", "lambda-without-arn", "no-type", "unclosed-reference",
        "forbidden-identifier", "bad-condition"])
def test_each_fault_is_refused(connect1, instance_id, content, expected):
    problems = refused_problems(connect1, instance_id, content)
    assert any(p.startswith(expected) for p in problems), f"missing {expected!r} in {problems}"


def test_legacy_modules_format_is_refused(connect1, instance_id):
    legacy = json.dumps({
        "modules": [{"id": "7bd0f1cf-0000-4b2c-9f3a-2a6f1a9b7a01", "type": "Disconnect", "branches": [],
                     "parameters": [], "metadata": {"position": {"x": 250, "y": 20}}}],
        "version": "1", "type": "contactFlow", "start": "7bd0f1cf-0000-4b2c-9f3a-2a6f1a9b7a01",
        "metadata": {"entryPointPosition": {"x": 20, "y": 20}, "name": "Old export", "type": "contactFlow"},
    })
    for status in ("PUBLISHED", "SAVED"):
        problems = refused_problems(connect1, instance_id, legacy, status=status)
        assert len(problems) == 1, problems
        assert "legacy flow export format" in problems[0] and FLOW_VERSION in problems[0], problems


def test_saved_accepts_what_liaison_does_not_run_published_does_not(connect, connect1, instance_id):
    name = unique("Lex")
    problems = refused_problems(connect1, instance_id, lex_flow(), name=name)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "Block 'bot': action type 'ConnectParticipantWithLexBot' is not supported by Liaison (Amazon Lex"), problems
    assert "takes its error branch" in problems[0], problems

    created = create(connect, instance_id, name, lex_flow(), Status="SAVED")
    flow_id, arn = created["ContactFlowId"], created["ContactFlowArn"]
    assert created["FlowContentSha256"] == sha256(lex_flow())
    for ref in (f"{flow_id}:$SAVED", f"{arn}:$SAVED"):
        f = describe(connect, instance_id, ref)
        assert (f["Id"], f["Status"], f["State"], f["Content"]) == (flow_id, "SAVED", "ACTIVE", lex_flow()), f
    assert flow_named(connect, instance_id, name)["ContactFlowStatus"] == "SAVED"
    # A saved flow has no published content to describe.
    with aws_error(("InvalidRequestException", "ResourceNotFoundException"), (400, 404)):
        connect1.describe_contact_flow(InstanceId=instance_id, ContactFlowId=flow_id)

    # Updates of a saved flow are checked as saved content: unsupported blocks pass, faults do not.
    other = flow("profile", [
        {"Identifier": "profile", "Type": "GetCustomerProfile", "Parameters": {"ProfileRequestData": {}},
         "Transitions": {"NextAction": "bye", "Errors": on_error("bye")}},
        disconnect("bye"),
    ])
    connect.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=flow_id, Content=other)
    assert describe(connect, instance_id, f"{flow_id}:$SAVED")["Content"] == other
    with aws_error("InvalidContactFlowException", 400) as refused:
        connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=flow_id,
                                             Content=flow("a", [{"Identifier": "a", "Type": "Teleport"}]))
    assert "Block 'a': unknown action type 'Teleport'." in problems_of(refused.error)
    assert describe(connect, instance_id, f"{flow_id}:$SAVED")["Content"] == other

    # Several unsupported kinds, each named with its block.
    mixed = flow("lex", [
        {"Identifier": "lex", "Type": "ConnectParticipantWithLexBot", "Parameters": {},
         "Transitions": {"NextAction": "case", "Errors": on_error("case")}},
        {"Identifier": "case", "Type": "CreateCase", "Parameters": {},
         "Transitions": {"NextAction": "voice", "Errors": on_error("voice")}},
        {"Identifier": "voice", "Type": "CheckVoiceId", "Parameters": {},
         "Transitions": {"NextAction": "bye", "Errors": on_error("bye")}},
        disconnect("bye"),
    ])
    problems = refused_problems(connect1, instance_id, mixed)
    assert sorted(p.split(":")[0] for p in problems) == ["Block 'case'", "Block 'lex'", "Block 'voice'"], problems
    assert all(UNSUPPORTED_MARK in p for p in problems), problems
    assert any("Customer Profiles" in p or "Cases" in p for p in problems), problems
    create(connect, instance_id, unique("Mixed"), mixed, Status="SAVED")


def test_content_limit_is_256000_characters(connect, connect1, instance_id):
    def padded(total: int) -> str:
        base = flow("hello", [say("hello", "", "bye"), disconnect("bye")])
        filler = total - len(base)
        assert filler > 0
        return flow("hello", [say("hello", "x" * filler, "bye"), disconnect("bye")])

    at_limit = padded(MAX_CONTENT_CHARS)
    assert len(at_limit) == MAX_CONTENT_CHARS
    created = create(connect, instance_id, unique("Largest"), at_limit)
    assert describe(connect, instance_id, created["ContactFlowId"])["Content"] == at_limit
    at_limit_too = at_limit[:-len("]}")] + "]\n}"  # one character more, one "x" less
    at_limit_too = at_limit_too.replace("x", "", 1)
    assert len(at_limit_too) == MAX_CONTENT_CHARS
    connect.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=created["ContactFlowId"],
                                        Content=at_limit_too)
    assert describe(connect, instance_id, created["ContactFlowId"])["Content"] == at_limit_too

    over = padded(MAX_CONTENT_CHARS + 1)
    assert len(over) == MAX_CONTENT_CHARS + 1
    for status in ("PUBLISHED", "SAVED"):
        problems = refused_problems(connect1, instance_id, over, status=status)
        assert problems == [f"The flow content is {MAX_CONTENT_CHARS + 1} characters; at most "
                            f"{MAX_CONTENT_CHARS} are allowed."], problems
    with aws_error("InvalidContactFlowException", 400) as refused:
        connect1.update_contact_flow_content(InstanceId=instance_id, ContactFlowId=created["ContactFlowId"],
                                             Content=over)
    assert "at most 256000" in problems_of(refused.error)[0]


def test_content_limit_counts_characters_not_bytes(connect, instance_id):
    """256,000 characters of non-ASCII text are within the limit, however many bytes they take."""
    base = flow("hello", [say("hello", "", "bye"), disconnect("bye")])
    text = ("こんにちは、お問い合わせありがとうございます。" * 20_000)[:MAX_CONTENT_CHARS - len(base)]
    content = flow("hello", [say("hello", text, "bye"), disconnect("bye")], ascii_only=False)
    assert len(content) == MAX_CONTENT_CHARS and len(content.encode()) > 700_000
    created = create(connect, instance_id, unique("Japanese"), content)
    assert describe(connect, instance_id, created["ContactFlowId"])["Content"] == content


# --------------------------------------------------------------------------------------------
# 3. The public flow corpus
# --------------------------------------------------------------------------------------------


def corpus_files() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"no flow corpus at {CORPUS_DIR}")
    files = sorted(CORPUS_DIR.glob("*.json"))
    if not files:
        pytest.skip(f"no flow files in {CORPUS_DIR}")
    return files


def test_corpus_imports(connect, connect1, instance_id):
    """Every corpus flow imports: published if it has no problem, else saved; refusals as published are
    exactly the flows whose problems are all blocks Liaison does not run."""
    files = corpus_files()
    table: list[tuple[str, str, list[str]]] = []  # (file, outcome, problems as published)
    imported: dict[str, tuple[str, str, str]] = {}  # name -> (id, status, content)
    for index, path in enumerate(files):
        content = path.read_text(encoding="utf-8")
        name = f"Corpus {index:02d} {path.stem[-80:]}"
        try:
            created = create(connect1, instance_id, name, content, Description=path.name[:250])
            table.append((path.name, "PUBLISHED", []))
            imported[name] = (created["ContactFlowId"], "PUBLISHED", content)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidContactFlowException", f"{path.name}: {e.response}"
            problems = problems_of(e)
            try:
                created = create(connect1, instance_id, name, content, Status="SAVED", Description=path.name[:250])
            except ClientError as saved_error:
                table.append((path.name, "REFUSED", problems_of(saved_error)))
                continue
            table.append((path.name, "SAVED", problems))
            imported[name] = (created["ContactFlowId"], "SAVED", content)
        assert created["FlowContentSha256"] == sha256(content), path.name

    report = "\n".join(f"{outcome:9} {file}" + "".join(f"\n            {p}" for p in problems)
                       for file, outcome, problems in table)
    refused = [row for row in table if row[1] == "REFUSED"]
    assert not refused, f"flows refused even as SAVED (their problems are not all unsupported blocks):\n{report}"
    for file, outcome, problems in table:
        all_unsupported = bool(problems) and all(UNSUPPORTED_MARK in p for p in problems)
        assert (outcome == "SAVED") == all_unsupported, f"{file}: {outcome} with {problems}\n{report}"

    # Refused as published exactly where a block is of a type Liaison does not run, and each such
    # block is named.
    for (file, outcome, problems), path in zip(table, files):
        doc = json.loads(path.read_text(encoding="utf-8"))
        unsupported = sorted({a["Identifier"] for a in doc["Actions"] if a.get("Type") in UNSUPPORTED_TYPES})
        assert (outcome == "SAVED") == bool(unsupported), f"{file}: {outcome}, unsupported blocks {unsupported}"
        named = sorted({p.split("'")[1] for p in problems if p.startswith("Block '")})
        if len(problems) < 50:
            assert named == unsupported, f"{file}: problems name {named}, unsupported blocks are {unsupported}"

    # Stored verbatim, names unique, listed with their status.
    listed = [s for s in all_summaries(connect, instance_id) if s["Name"].startswith("Corpus ")]
    assert sorted(s["Name"] for s in listed) == sorted(imported), "each corpus flow listed once under its name"
    for s in listed:
        flow_id, status, content = imported[s["Name"]]
        assert (s["Id"], s["ContactFlowStatus"]) == (flow_id, status), s
        ref = flow_id if status == "PUBLISHED" else f"{flow_id}:$SAVED"
        f = describe(connect, instance_id, ref)
        assert f["Content"] == content and f["Status"] == status, s["Name"]
        assert f["FlowContentSha256"] == sha256(content)
    published = sum(1 for row in table if row[1] == "PUBLISHED")
    assert published and published < len(table), f"the corpus has both kinds:\n{report}"

    # Importing again under the same names is refused.
    first = files[0].read_text(encoding="utf-8")
    with aws_error("DuplicateResourceException", 409):
        create(connect1, instance_id, f"Corpus 00 {files[0].stem[-80:]}", first, Status="SAVED")


# --------------------------------------------------------------------------------------------
# 4. Chats running their flows
# --------------------------------------------------------------------------------------------


def test_greeting_interpolates_attributes(connect, part, instance_id):
    flow_id = import_flow(connect, instance_id, "Greeter", "hello", [
        say("hello", "Hello $.Attributes.name, you write on $.Channel about $.Attributes['topic'].", "second"),
        say("second", "Unknown: [$.Attributes.missing] costs $5", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, display_name="Ana",
                   Attributes={"name": "Ana", "topic": "billing"})
    said = system_messages(part, c, 2)
    assert texts(said) == ["Hello Ana, you write on CHAT about billing.", "Unknown: [] costs $5"]
    for item in said:
        assert_system_message(item, c.contact_id)
    still_says(part, c, texts(said), quiet_for=0.3)
    transcript = transcript_all(part, c.connection_token)
    joined = [i for i in transcript if i.get("ParticipantRole") == "CUSTOMER" and i["Type"] == "EVENT"]
    assert joined, "the customer's participant.joined comes with the flow's messages"


@pytest.mark.parametrize("tier, branch", [("12", "gold"), ("10", "gold"), ("basic", "basic"), ("7", "other"),
                                          (None, "other")])
def test_compare_follows_start_chat_attributes(connect, part, instance_id, tier, branch):
    flow_id = import_flow(connect, instance_id, "Tiers", "check", [
        {"Identifier": "check", "Type": "Compare", "Parameters": {"ComparisonValue": "$.Attributes.tier"},
         "Transitions": {"NextAction": "other", "Conditions": [
             {"NextAction": "gold", "Condition": {"Operator": "NumberGreaterOrEqualTo", "Operands": ["10"]}},
             equals("basic", "basic")],
             "Errors": [{"NextAction": "other", "ErrorType": "NoMatchingCondition"}]}},
        say("gold", "gold", "hold"),
        say("basic", "basic", "hold"),
        say("other", "other", "hold"),
        hold("hold"),
    ])
    attributes = {} if tier is None else {"tier": tier}
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes=attributes)
    assert texts(system_messages(part, c, 1)) == [branch]
    still_says(part, c, [branch], quiet_for=0.2)


def test_update_contact_attributes(connect, part, instance_id):
    flow_id = import_flow(connect, instance_id, "Tagger", "set", [
        {"Identifier": "set", "Type": "UpdateContactAttributes",
         "Parameters": {"Attributes": {"route": "gold", "greeted": "$.Attributes.name",
                                       "contact": "$.ContactId", "seen_$.Attributes.name": "yes",
                                       "channel": "via $.Channel"}},
         "Transitions": {"NextAction": "after", "Errors": on_error("failed")}},
        say("after", "route=$.Attributes.route greeted=$.Attributes.greeted", "hold"),
        say("failed", "could not set attributes", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana", "keep": "me"})
    assert texts(system_messages(part, c, 1)) == ["route=gold greeted=Ana"]
    attributes = connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=c.contact_id)["Attributes"]
    assert attributes == {"name": "Ana", "keep": "me", "route": "gold", "greeted": "Ana",
                          "contact": c.contact_id, "seen_Ana": "yes", "channel": "via CHAT"}, attributes


def test_wait_resumes_when_the_customer_returns(connect, part, instance_id):
    flow_id = import_flow(connect, instance_id, "Comeback", "ask", [
        say("ask", "Anything else?", "wait"),
        {"Identifier": "wait", "Type": "Wait",
         "Parameters": {"TimeLimitSeconds": "604800", "Events": ["CustomerReturned"]},
         "Transitions": {"Conditions": [equals("CustomerReturned", "back"), equals("WaitCompleted", "late")],
                         "Errors": on_error("late")}},
        say("back", "Welcome back", "hold"),
        say("late", "Too late", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    assert texts(system_messages(part, c, 1)) == ["Anything else?"]
    still_says(part, c, ["Anything else?"], quiet_for=0.5)
    sent = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="one more thing")
    said = system_messages(part, c, 2)
    assert texts(said) == ["Anything else?", "Welcome back"]
    transcript = transcript_all(part, c.connection_token)
    order = [i["Id"] for i in transcript]
    assert order.index(sent["Id"]) < order.index(said[1]["Id"]), "the flow answers after the customer's message"
    # A second message finds the flow holding: nothing more is said.
    part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="hello?")
    still_says(part, c, ["Anything else?", "Welcome back"], quiet_for=0.4)


def test_wait_time_limit(connect, part, instance_id, server):
    seconds = 600  # flow seconds: 600 * 100 / 60 ms = 1 s
    wait_s = seconds * server.timer_minute_ms / 60 / 1000
    flow_id = import_flow(connect, instance_id, "Patience", "start", [
        say("start", "Waiting", "wait"),
        {"Identifier": "wait", "Type": "Wait", "Parameters": {"TimeLimitSeconds": str(seconds)},
         "Transitions": {"Conditions": [equals("WaitCompleted", "done")], "Errors": on_error("error")}},
        say("done", "Waited $.Attributes.n", "hold"),
        say("error", "Wait failed", "hold"),
        hold("hold"),
    ])
    t0 = time.monotonic()
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"n": "enough"})
    said = system_messages(part, c, 2, timeout=10 + 5 * wait_s)
    elapsed = time.monotonic() - t0
    assert texts(said) == ["Waiting", "Waited enough"]
    assert elapsed >= 0.9 * wait_s, f"the wait lasted {elapsed:.2f} s, less than {wait_s:.2f} s"
    first, second = (dt_of(i) for i in said)
    assert (second - first) >= 0.9 * wait_s, f"{second - first:.3f} s between the messages, expected ~{wait_s:.2f}"


def dt_of(item: dict) -> float:
    return dt.datetime.fromisoformat(item["AbsoluteTime"].replace("Z", "+00:00")).timestamp()


def test_disconnect_participant_ends_the_chat(connect, part, part1, instance_id, sockets):
    flow_id = import_flow(connect, instance_id, "Goodbye", "wait", [
        *until_customer_writes("wait", "bye"),
        say("bye", "Goodbye $.Attributes.name", "end"),
        disconnect("end"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana"})
    ws = sockets(c.websocket_url)
    sent = write_when_ready(part, c, "bye now")
    ws.wait_item(lambda i: i.get("Id") == sent["Id"], 10, "the customer's message")
    goodbye = ws.wait_item(lambda i: i.get("ParticipantRole") == "SYSTEM" and i.get("Content") != READY, 10,
                           "the flow's goodbye")
    assert goodbye["Content"] == "Goodbye Ana"
    assert_system_message(goodbye, c.contact_id)
    ended = ws.wait_item(lambda i: i.get("ContentType") == ENDED, 10, "chat.ended")
    assert ended["ContactId"] == c.contact_id, ended
    items = ws.items()
    assert items.index(goodbye) < items.index(ended)

    contact = wait_until(
        lambda: (lambda ct: ct if "DisconnectTimestamp" in ct else None)(
            connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]),
        10, "DisconnectTimestamp on the contact")
    assert contact["DisconnectTimestamp"] >= contact["InitiationTimestamp"]
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="too late")
    with aws_error("AccessDeniedException", 403):
        part1.get_transcript(ConnectionToken=c.connection_token)


def test_a_flow_that_ends_ends_the_chat(connect, part, part1, instance_id):
    flow_id = import_flow(connect, instance_id, "Short", "hello", [
        say("hello", "That is all", "end"),
        {"Identifier": "end", "Type": "EndFlowExecution", "Parameters": {}, "Transitions": {}},
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    wait_until(lambda: "DisconnectTimestamp" in connect.describe_contact(
        InstanceId=instance_id, ContactId=c.contact_id)["Contact"], 10, "the chat to end with its flow")
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="anyone?")


def test_default_chat_flow_greets_then_queues(connect, part, instance_id, server):
    default = flow_named(connect, instance_id, DEFAULT_CHAT_FLOW)["Id"]
    c = start_chat(connect, instance_id, default, part=part)
    try:
        said = system_messages(part, c, 2)
        assert texts(said)[:2] == [DEFAULT_GREETING, QUEUE_WELCOME]
        for item in said:
            assert_system_message(item, c.contact_id)
        # Queued, the chat stays open for an agent; the customer-queue flow reminds every 300 flow
        # seconds (500 ms here).
        assert part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain",
                                 Content="still there?")["Id"]
        said = system_messages(part, c, 3, timeout=10 + 300 * server.timer_minute_ms / 60 / 1000 * 5)
        assert texts(said)[:3] == [DEFAULT_GREETING, QUEUE_WELCOME, QUEUE_REMINDER]
        assert "DisconnectTimestamp" not in connect.describe_contact(
            InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    finally:
        connect.stop_contact(InstanceId=instance_id, ContactId=c.contact_id)


def test_queue_transfer_runs_the_customer_queue_flow(connect, part, instance_id, basic_queue_arn):
    flow_id = import_flow(connect, instance_id, "To the queue", "set-queue", [
        {"Identifier": "set-queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": basic_queue_arn},
         "Transitions": {"NextAction": "transfer", "Errors": on_error("no-queue")}},
        {"Identifier": "transfer", "Type": "TransferContactToQueue", "Parameters": {},
         "Transitions": {"Errors": on_error("no-queue")}},
        say("no-queue", "Queue failed", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    try:
        assert texts(system_messages(part, c, 1)) == [QUEUE_WELCOME]
    finally:
        connect.stop_contact(InstanceId=instance_id, ContactId=c.contact_id)


def test_queue_name_after_setting_the_working_queue(connect, part, instance_id, basic_queue_arn):
    flow_id = import_flow(connect, instance_id, "Queue name", "set-queue", [
        {"Identifier": "set-queue", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": basic_queue_arn},
         "Transitions": {"NextAction": "tell", "Errors": on_error("no-queue")}},
        say("tell", "Queue: $.Queue.Name", "hold"),
        say("no-queue", "Queue failed", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    assert texts(system_messages(part, c, 1)) == ["Queue: BasicQueue"]


def test_transfer_to_flow(connect, part, instance_id):
    target = import_flow(connect, instance_id, "Target", "there", [
        say("there", "In the target flow with $.Attributes.k", "hold"),
        hold("hold"),
    ])
    target_arn = describe(connect, instance_id, target)["Arn"]
    flow_id = import_flow(connect, instance_id, "Transferring", "set", [
        {"Identifier": "set", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"k": "v"}},
         "Transitions": {"NextAction": "go", "Errors": on_error("go")}},
        {"Identifier": "go", "Type": "TransferToFlow", "Parameters": {"ContactFlowId": target_arn},
         "Transitions": {"NextAction": "failed", "Errors": on_error("failed")}},
        say("failed", "Transfer failed", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    assert texts(system_messages(part, c, 1)) == ["In the target flow with v"]
    still_says(part, c, ["In the target flow with v"], quiet_for=0.2)


def test_invoke_lambda_takes_its_error_branch(connect, part, instance_id):
    flow_id = import_flow(connect, instance_id, "Lambda", "lambda", [
        {"Identifier": "lambda", "Type": "InvokeLambdaFunction",
         "Parameters": {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:000000000000:function:lookup",
                        "InvocationTimeLimitSeconds": "3",
                        "LambdaInvocationAttributes": {"who": "$.Attributes.name"}},
         "Transitions": {"NextAction": "answered", "Errors": on_error("failed")}},
        say("answered", "Lambda answered $.External.result", "hold"),
        say("failed", "Lambda failed for $.Attributes.name", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana"})
    assert texts(system_messages(part, c, 1)) == ["Lambda failed for Ana"]
    still_says(part, c, ["Lambda failed for Ana"], quiet_for=0.2)


# A custom bot has 15 timer seconds to connect after CreateParticipant: 25 ms with this module's
# 100 ms timer minute. The bot Wait runs on a server of its own whose timer minute is 1.2 s
# (connect window 300 ms, one flow second 20 ms).
BOT_TIMER_MINUTE_MS = 1200


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("test_flows-bots-data")
    log = log_dir() / "test_flows-bots.log"
    log.write_bytes(b"")
    srv = LiaisonServer(data / "data", log, timer_minute_ms=BOT_TIMER_MINUTE_MS)
    srv.start()
    yield srv
    srv.stop()


def test_wait_for_the_custom_bot(bot_server):
    connect = bot_server.client("connect")
    part = bot_server.client("connectparticipant", access_key="dummy", secret_key="dummy")
    instance_id = connect.list_instances()["InstanceSummaryList"][0]["Id"]
    flow_id = import_flow(connect, instance_id, "Bot hand-off", "wait", [
        *until_customer_writes("wait", "announce"),
        say("announce", "Waiting for the bot", "bot"),
        {"Identifier": "bot", "Type": "Wait",
         "Parameters": {"TimeLimitSeconds": "900", "Events": ["BotParticipantDisconnected"]},
         "Transitions": {"Conditions": [equals("BotParticipantDisconnected", "done"), equals("WaitCompleted", "late")],
                         "Errors": [{"NextAction": "missing", "ErrorType": "ParticipantNotFound"},
                                    {"NextAction": "late", "ErrorType": "NoMatchingError"}]}},
        say("done", "The bot is done", "hold"),
        say("missing", "No bot", "hold"),
        say("late", "Timed out", "hold"),
        hold("hold"),
    ])

    c = start_chat(connect, instance_id, flow_id, part=part)
    bot = connect.create_participant(InstanceId=instance_id, ContactId=c.contact_id,
                                     ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"})
    bot_connection = part.create_participant_connection(
        ParticipantToken=bot["ParticipantCredentials"]["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"],
        ConnectParticipant=True)
    write_when_ready(part, c, "I need the bot")
    assert texts(system_messages(part, c, 2)) == [READY, "Waiting for the bot"]
    # The flow is in the bot Wait: nothing happens while the bot stays.
    still_says(part, c, [READY, "Waiting for the bot"], quiet_for=0.5)
    part.disconnect_participant(ConnectionToken=bot_connection["ConnectionCredentials"]["ConnectionToken"])
    assert texts(system_messages(part, c, 3)) == [READY, "Waiting for the bot", "The bot is done"]

    # Without a bot in the chat the Wait takes its ParticipantNotFound branch at once.
    lonely = start_chat(connect, instance_id, flow_id, part=part)
    write_when_ready(part, lonely, "anyone?")
    assert texts(system_messages(part, lonely, 3)) == [READY, "Waiting for the bot", "No bot"]


def test_disconnect_flow_after_the_bot_leaves(bot_server, sockets):
    connect = bot_server.client("connect")
    part = bot_server.client("connectparticipant", access_key="dummy", secret_key="dummy")
    instance_id = connect.list_instances()["InstanceSummaryList"][0]["Id"]
    after_bot = import_flow(connect, instance_id, "After the bot", "ask", [
        say("ask", "The bot has left. Anything else?", "wait"),
        {"Identifier": "wait", "Type": "Wait",
         "Parameters": {"TimeLimitSeconds": "900", "Events": ["CustomerReturned"]},
         "Transitions": {"Conditions": [equals("CustomerReturned", "bye")], "Errors": on_error("bye")}},
        say("bye", "Goodbye", "end"),
        disconnect("end"),
    ])
    flow_id = import_flow(connect, instance_id, "Bot with a disconnect flow", "hooks", [
        {"Identifier": "hooks", "Type": "UpdateContactEventHooks",
         "Parameters": {"EventHooks": {"CustomerRemaining": describe(connect, instance_id, after_bot)["Arn"]}},
         "Transitions": {"NextAction": "hold", "Errors": on_error("hold")}},
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part)
    socket = sockets(c.websocket_url)
    bot = connect.create_participant(InstanceId=instance_id, ContactId=c.contact_id,
                                     ParticipantDetails={"ParticipantRole": "CUSTOM_BOT", "DisplayName": "Bot"})
    bot_connection = part.create_participant_connection(
        ParticipantToken=bot["ParticipantCredentials"]["ParticipantToken"], Type=["CONNECTION_CREDENTIALS"],
        ConnectParticipant=True)
    part.send_message(ConnectionToken=bot_connection["ConnectionCredentials"]["ConnectionToken"],
                      ContentType="text/plain", Content="Your order ships tomorrow.")
    part.disconnect_participant(ConnectionToken=bot_connection["ConnectionCredentials"]["ConnectionToken"])
    assert texts(system_messages(part, c, 1)) == ["The bot has left. Anything else?"]
    part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="No, thanks")
    socket.wait_item(lambda i: i.get("ContentType") == ENDED, 10, "chat.ended")
    said = [i["Content"] for i in socket.items() if i.get("ParticipantRole") == "SYSTEM" and i["Type"] == "MESSAGE"]
    assert said == ["The bot has left. Anything else?", "Goodbye"]


# --------------------------------------------------------------------------------------------
# 5. Flow logs
# --------------------------------------------------------------------------------------------


def test_flow_logs_over_http_and_from_the_command_line(connect, part, instance_id, server):
    flow_id = import_flow(connect, instance_id, "Logged", "log-on", [
        {"Identifier": "log-on", "Type": "UpdateFlowLoggingBehavior",
         "Parameters": {"FlowLoggingBehavior": "Enabled"}, "Transitions": {"NextAction": "set"}},
        {"Identifier": "set", "Type": "UpdateContactAttributes",
         "Parameters": {"Attributes": {"greeted": "$.Attributes.name"}},
         "Transitions": {"NextAction": "hello", "Errors": on_error("hello")}},
        say("hello", "Hello $.Attributes.greeted", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana"})
    assert texts(system_messages(part, c, 1)) == ["Hello Ana"]

    r = signed_request(server, "GET", f"/liaison/flow-logs/{instance_id}/{c.contact_id}")
    assert r.status == 200, r
    records = json.loads(r.body)["FlowLogs"]
    assert [(x["Identifier"], x["ContactFlowModuleType"], x["Results"]) for x in records] == [
        ("log-on", "UpdateFlowLoggingBehavior", "Success"),
        ("set", "UpdateContactAttributes", "Success"),
        ("hello", "MessageParticipant", "Success"),
    ]
    assert records[1]["Parameters"] == {"Attributes": {"greeted": "Ana"}}
    assert records[2]["Parameters"] == {"Text": "Hello Ana"}
    assert records[2]["NextAction"] == "hold"
    described = describe(connect, instance_id, flow_id)
    assert all(x["ContactId"] == c.contact_id and x["ContactFlowName"] == described["Name"]
               and x["ContactFlowId"] == described["Arn"] for x in records)

    # Unsigned: refused with an AWS error.
    r = raw_request(server, "GET", f"/liaison/flow-logs/{instance_id}/{c.contact_id}")
    assert_raw_aws_error(r, 403)

    # The command reads the same store while the server runs.
    out = subprocess.run([str(server.bin), "flow", "logs", c.contact_id, "--data", str(server.data_dir)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines == records
    out = subprocess.run([str(server.bin), "flow", "logs", "no-such-contact", "--data", str(server.data_dir)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "No flow logs" in out.stderr


# --------------------------------------------------------------------------------------------
# 6. Flow modules
# --------------------------------------------------------------------------------------------


def module_content(text: str) -> str:
    return flow("hello", [
        say("hello", text, "return"),
        {"Identifier": "return", "Type": "EndFlowModuleExecution", "Parameters": {}, "Transitions": {}},
    ])


def test_flow_module_management(connect, connect1, instance_id):
    name = unique("Module")
    content = module_content("From the module")
    settings = json.dumps({"InputParameters": [], "OutputParameters": [],
                           "Transitions": [{"DisplayName": "Success", "ReferenceName": "Success", "Description": ""}]})
    created = connect.create_contact_flow_module(InstanceId=instance_id, Name=name, Description="greets",
                                                 Content=content, Settings=settings)
    assert created["Arn"].endswith(f"/flow-module/{created['Id']}")
    assert created["Arn"].startswith("arn:aws:connect:")
    for ref in (created["Id"], created["Arn"]):
        described = connect.describe_contact_flow_module(InstanceId=instance_id, ContactFlowModuleId=ref)
        module = described["ContactFlowModule"]
        assert module["Id"] == created["Id"] and module["Name"] == name and module["Description"] == "greets"
        assert module["Content"] == content and module["Settings"] == settings
        assert module["State"] == "ACTIVE" and module["Status"] == "PUBLISHED"
        assert module["FlowModuleContentSha256"] == sha256(content)

    summaries = connect.list_contact_flow_modules(InstanceId=instance_id)["ContactFlowModulesSummaryList"]
    mine = [s for s in summaries if s["Id"] == created["Id"]]
    assert mine == [{"Id": created["Id"], "Arn": created["Arn"], "Name": name, "State": "ACTIVE"}]
    archived = connect.list_contact_flow_modules(InstanceId=instance_id, ContactFlowModuleState="ARCHIVED")
    assert not [s for s in archived["ContactFlowModulesSummaryList"] if s["Id"] == created["Id"]]

    # The same name again: refused, unless it is a retry of the very same request.
    with aws_error("DuplicateResourceException", 409):
        connect1.create_contact_flow_module(InstanceId=instance_id, Name=name, Content=module_content("Other"))
    token = str(uuid.uuid4())
    retried = unique("Retried")
    first = connect.create_contact_flow_module(InstanceId=instance_id, Name=retried, Content=content, ClientToken=token)
    again = connect.create_contact_flow_module(InstanceId=instance_id, Name=retried, Content=content, ClientToken=token)
    assert again["Id"] == first["Id"]
    # A flow of the same name does not clash: modules have names of their own.
    import_flow(connect, instance_id, retried, "hold", [hold("hold")])

    with aws_error("InvalidContactFlowModuleException", 400) as caught:
        connect1.create_contact_flow_module(InstanceId=instance_id, Name=unique("Bad"),
                                            Content=flow("nowhere", [say("hello", "hi")]))
    problems = caught.error.response["Problems"]
    assert problems and "nowhere" in problems[0]["message"]
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_contact_flow_module(InstanceId=instance_id, ContactFlowModuleId=str(uuid.uuid4()))


def test_invoke_flow_module(connect, part, instance_id):
    module = connect.create_contact_flow_module(InstanceId=instance_id, Name=unique("Greeter module"),
                                                Content=module_content("Hello from the module, $.Attributes.name"))
    flow_id = import_flow(connect, instance_id, "Invoker", "invoke", [
        {"Identifier": "invoke", "Type": "InvokeFlowModule", "Parameters": {"FlowModuleId": module["Id"]},
         "Transitions": {"NextAction": "after", "Errors": on_error("failed")}},
        say("after", "Back in the flow", "hold"),
        say("failed", "The module failed", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana"})
    assert texts(system_messages(part, c, 2)) == ["Hello from the module, Ana", "Back in the flow"]


# --------------------------------------------------------------------------------------------
# 7. Contact data
# --------------------------------------------------------------------------------------------


def test_update_contact_data_and_update_contact(connect, connect1, part, instance_id):
    flow_id = import_flow(connect, instance_id, "Data", "data", [
        {"Identifier": "data", "Type": "UpdateContactData",
         "Parameters": {"Name": "Chat with $.Attributes.name", "LanguageCode": "de-DE",
                        "References": {"ticket": {"Type": "STRING", "Value": "$.Attributes.ticket"}}},
         "Transitions": {"NextAction": "say", "Errors": on_error("failed")}},
        say("say", "$.Name in $.LanguageCode about $.References.ticket.Value", "hold"),
        say("failed", "failed", "hold"),
        hold("hold"),
    ])
    c = start_chat(connect, instance_id, flow_id, part=part, Attributes={"name": "Ana", "ticket": "T-7"})
    assert texts(system_messages(part, c, 1)) == ["Chat with Ana in de-DE about T-7"]
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert contact["Name"] == "Chat with Ana" and "Description" not in contact

    connect.update_contact(InstanceId=instance_id, ContactId=c.contact_id, Description="Billing question",
                           References={"case": {"Type": "URL", "Value": "https://example.com/case/7"}})
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)["Contact"]
    assert contact["Name"] == "Chat with Ana" and contact["Description"] == "Billing question"
    with aws_error("InvalidRequestException", 400, message_contains="UserInfo"):
        connect1.update_contact(InstanceId=instance_id, ContactId=c.contact_id, UserInfo={"UserId": "someone"})
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_contact(InstanceId=instance_id, ContactId=str(uuid.uuid4()), Name="x")
