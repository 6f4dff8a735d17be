"""Connect API (SigV4, service `connect`) through boto3: instances, flows, chat contacts, attributes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from liaison_harness import (ENDED, ChatSocket, aws_error, new_token, now_utc, start_chat, transcript_all)

NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"


# ---------------------------------------------------------------------------- instances


def test_list_instances_has_exactly_one(connect):
    r = connect.list_instances()
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["ResponseMetadata"]["RequestId"]
    (inst,) = r["InstanceSummaryList"]
    assert inst["Id"]
    assert inst["Arn"].startswith("arn:") and inst["Arn"].endswith(inst["Id"]), inst
    assert "NextToken" not in r


def test_describe_instance(connect, instance_id):
    summary = connect.list_instances()["InstanceSummaryList"][0]
    inst = connect.describe_instance(InstanceId=instance_id)["Instance"]
    assert inst["Id"] == instance_id
    assert inst["Arn"] == summary["Arn"]
    assert inst["InstanceStatus"] == "ACTIVE"


def test_describe_instance_unknown(connect1):
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_instance(InstanceId=NO_SUCH_ID)


# ---------------------------------------------------------------------------- flows


def test_list_contact_flows(connect, instance_id):
    r = connect.list_contact_flows(InstanceId=instance_id)
    flows = r["ContactFlowSummaryList"]
    assert any(f["ContactFlowType"] == "CONTACT_FLOW" for f in flows), flows
    for f in flows:
        assert f["Id"] and f["Arn"] and f["Name"], f


def test_list_contact_flows_type_filter(connect, instance_id):
    r = connect.list_contact_flows(InstanceId=instance_id, ContactFlowTypes=["CONTACT_FLOW"])
    flows = r["ContactFlowSummaryList"]
    assert flows
    assert all(f["ContactFlowType"] == "CONTACT_FLOW" for f in flows), flows


def test_list_contact_flows_paginator(connect, instance_id):
    everything = connect.list_contact_flows(InstanceId=instance_id)["ContactFlowSummaryList"]
    pages = connect.get_paginator("list_contact_flows").paginate(InstanceId=instance_id,
                                                                 PaginationConfig={"PageSize": 1})
    ids = [f["Id"] for page in pages for f in page["ContactFlowSummaryList"]]
    assert sorted(ids) == sorted(f["Id"] for f in everything)


def test_list_contact_flows_unknown_instance(connect1):
    with aws_error("ResourceNotFoundException", 404):
        connect1.list_contact_flows(InstanceId=NO_SUCH_ID)


def test_describe_contact_flow(connect, instance_id, flow_id):
    f = connect.describe_contact_flow(InstanceId=instance_id, ContactFlowId=flow_id)["ContactFlow"]
    assert f["Id"] == flow_id
    assert f["Type"] == "CONTACT_FLOW"
    assert f["Arn"] and f["Name"]
    assert isinstance(json.loads(f["Content"]), dict), "flow Content is flow-language JSON"


def test_describe_contact_flow_unknown(connect1, instance_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_contact_flow(InstanceId=instance_id, ContactFlowId=NO_SUCH_ID)


# ---------------------------------------------------------------------------- StartChatContact


def test_start_chat_contact_basic(connect, instance_id, flow_id):
    r = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                   ParticipantDetails={"DisplayName": "Ada"})
    assert r["ContactId"] and r["ParticipantId"] and r["ParticipantToken"]
    assert r["ResponseMetadata"]["RequestId"]
    r2 = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                    ParticipantDetails={"DisplayName": "Ada"})
    assert r2["ContactId"] != r["ContactId"], "an SDK-generated ClientToken differs per call: new contact"
    assert r2["ParticipantToken"] != r["ParticipantToken"]


def test_start_chat_contact_attributes_initial_message_display_name(connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part, display_name="Grace Hopper",
                   Attributes={"customerTier": "gold", "empty": ""},
                   InitialMessage={"ContentType": "text/plain", "Content": "I need help with my order"})
    attrs = connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=c.contact_id)["Attributes"]
    assert attrs == {"customerTier": "gold", "empty": ""}
    items = transcript_all(part, c.connection_token)
    msgs = [i for i in items if i["Type"] == "MESSAGE"]
    first = [m for m in msgs if m.get("Content") == "I need help with my order"]
    assert len(first) == 1, items
    m = first[0]
    assert m["ContentType"] == "text/plain"
    assert m["ParticipantRole"] == "CUSTOMER"
    assert m["ParticipantId"] == c.participant_id
    assert m["DisplayName"] == "Grace Hopper"
    joined = [i for i in items if i.get("ContentType", "").endswith("participant.joined")
              and i.get("ParticipantId") == c.participant_id]
    assert joined and joined[0]["DisplayName"] == "Grace Hopper", items


def test_start_chat_contact_client_token_idempotent(connect, instance_id, flow_id):
    token = new_token()
    kw = dict(InstanceId=instance_id, ContactFlowId=flow_id, ParticipantDetails={"DisplayName": "Idem"},
              Attributes={"a": "1"}, ClientToken=token)
    r1 = connect.start_chat_contact(**kw)
    r2 = connect.start_chat_contact(**kw)
    assert r2["ContactId"] == r1["ContactId"]
    assert r2["ParticipantId"] == r1["ParticipantId"]
    r3 = connect.start_chat_contact(**{**kw, "ClientToken": new_token()})
    assert r3["ContactId"] != r1["ContactId"]


@pytest.mark.parametrize("minutes", [60, 10080])
def test_start_chat_contact_duration_bounds_accepted(connect, instance_id, flow_id, minutes):
    r = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                   ParticipantDetails={"DisplayName": "D"}, ChatDurationInMinutes=minutes)
    assert r["ContactId"]


@pytest.mark.parametrize("minutes", [59, 10081, 0, -5])
def test_start_chat_contact_duration_out_of_range(connect_raw, instance_id, flow_id, minutes):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400,
                   message_contains="ChatDurationInMinutes"):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"}, ChatDurationInMinutes=minutes)


def test_start_chat_contact_supported_types_ok(connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part,
                   SupportedMessagingContentTypes=["text/plain", "text/markdown"])
    assert c.contact_id


def test_start_chat_contact_supported_types_without_text_plain(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400,
                   message_contains="text/plain"):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"},
                                       SupportedMessagingContentTypes=["text/markdown"])


def test_start_chat_contact_supported_types_unknown_type(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"},
                                       SupportedMessagingContentTypes=["text/plain", "image/gif"])


def test_start_chat_contact_missing_participant_details(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400,
                   message_contains="ParticipantDetails"):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id)


def test_start_chat_contact_missing_display_name(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400,
                   message_contains="DisplayName"):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id, ParticipantDetails={})


def test_start_chat_contact_unknown_instance(connect1, flow_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.start_chat_contact(InstanceId=NO_SUCH_ID, ContactFlowId=flow_id,
                                    ParticipantDetails={"DisplayName": "D"})


def test_start_chat_contact_unknown_flow(connect1, instance_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=NO_SUCH_ID,
                                    ParticipantDetails={"DisplayName": "D"})


def test_start_chat_contact_persistent_chat_rejected(connect1, instance_id, flow_id):
    first = connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                        ParticipantDetails={"DisplayName": "D"})
    with aws_error({"InvalidRequestException", "InvalidParameterException"}, 400):
        connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                    ParticipantDetails={"DisplayName": "D"},
                                    PersistentChat={"RehydrationType": "ENTIRE_PAST_SESSION",
                                                    "SourceContactId": first["ContactId"]})


def test_start_chat_contact_attributes_too_large(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"},
                                       Attributes={"a": "x" * 17000, "b": "y" * 17000})


def test_start_chat_contact_initial_message_too_large(connect_raw, instance_id, flow_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400):
        connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"},
                                       InitialMessage={"ContentType": "text/plain", "Content": "z" * 16385})


def test_start_chat_contact_related_contact(connect, instance_id, flow_id):
    first = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                       ParticipantDetails={"DisplayName": "D"})
    second = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                        ParticipantDetails={"DisplayName": "D"},
                                        RelatedContactId=first["ContactId"])
    assert second["ContactId"] != first["ContactId"]
    contact = connect.describe_contact(InstanceId=instance_id, ContactId=second["ContactId"])["Contact"]
    assert contact["RelatedContactId"] == first["ContactId"]


# ---------------------------------------------------------------------------- DescribeContact / StopContact


def test_describe_contact_live_then_stopped(connect, instance_id, flow_id):
    before = now_utc() - dt.timedelta(seconds=5)
    r = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                   ParticipantDetails={"DisplayName": "D"})
    cid = r["ContactId"]
    c = connect.describe_contact(InstanceId=instance_id, ContactId=cid)["Contact"]
    assert c["Id"] == cid
    assert c["Channel"] == "CHAT"
    assert c["InitiationMethod"] == "API"
    assert c["Arn"].endswith(cid), c["Arn"]
    started = c["InitiationTimestamp"]
    assert isinstance(started, dt.datetime), started
    assert before <= started <= now_utc() + dt.timedelta(seconds=5)
    assert "DisconnectTimestamp" not in c, c

    assert connect.stop_contact(InstanceId=instance_id, ContactId=cid)["ResponseMetadata"]["HTTPStatusCode"] == 200
    c2 = connect.describe_contact(InstanceId=instance_id, ContactId=cid)["Contact"]
    ended = c2["DisconnectTimestamp"]
    assert isinstance(ended, dt.datetime)
    assert started <= ended <= now_utc() + dt.timedelta(seconds=5)


def test_describe_contact_unknown(connect1, instance_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_contact(InstanceId=instance_id, ContactId=NO_SUCH_ID)


def test_describe_contact_wrong_instance(connect1, instance_id, flow_id):
    cid = connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                      ParticipantDetails={"DisplayName": "D"})["ContactId"]
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_contact(InstanceId=NO_SUCH_ID, ContactId=cid)


def test_stop_contact_ends_chat_for_participant(connect, part, part1, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part)
    ws = ChatSocket(c.websocket_url)
    try:
        ws.subscribe()
        connect.stop_contact(InstanceId=instance_id, ContactId=c.contact_id)
        item = ws.wait_item(lambda i: i.get("ContentType") == ENDED, 5, "chat.ended after StopContact")
        assert item["ContactId"] == c.contact_id
        assert item["InitialContactId"] == c.contact_id
    finally:
        ws.close()
    with aws_error("AccessDeniedException", 403):
        part1.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content="too late")
    with aws_error("AccessDeniedException", 403):
        part1.create_participant_connection(ParticipantToken=c.participant_token,
                                            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"])


def test_stop_contact_twice(connect1, instance_id, flow_id):
    cid = connect1.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                      ParticipantDetails={"DisplayName": "D"})["ContactId"]
    connect1.stop_contact(InstanceId=instance_id, ContactId=cid)
    try:
        connect1.stop_contact(InstanceId=instance_id, ContactId=cid)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert (code, status) in {("ContactNotFoundException", 410), ("InvalidRequestException", 400)}, \
            e.response
        assert e.response["Error"]["Message"]


def test_stop_contact_unknown(connect1, instance_id):
    with aws_error({"ContactNotFoundException", "ResourceNotFoundException"}, {410, 404}):
        connect1.stop_contact(InstanceId=instance_id, ContactId=NO_SUCH_ID)


def test_stop_contact_missing_contact_id(connect_raw, instance_id):
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400, message_contains="ContactId"):
        connect_raw.stop_contact(InstanceId=instance_id)


# ---------------------------------------------------------------------------- attributes


def test_contact_attributes_merge(connect, instance_id, flow_id):
    cid = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "D"},
                                     Attributes={"a": "1", "b": "2"})["ContactId"]
    assert connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=cid)["Attributes"] == \
        {"a": "1", "b": "2"}
    connect.update_contact_attributes(InstanceId=instance_id, InitialContactId=cid,
                                      Attributes={"b": "3", "c": "4"})
    assert connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=cid)["Attributes"] == \
        {"a": "1", "b": "3", "c": "4"}


def test_contact_attributes_none_set(connect, instance_id, flow_id):
    cid = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "D"})["ContactId"]
    attrs = connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=cid).get("Attributes", {})
    assert attrs == {}


def test_contact_attributes_total_size_limit(connect, connect_raw, instance_id, flow_id):
    cid = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "D"},
                                     Attributes={"keep": "me"})["ContactId"]
    connect.update_contact_attributes(InstanceId=instance_id, InitialContactId=cid,
                                      Attributes={"big1": "x" * 20000})
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400):
        connect_raw.update_contact_attributes(InstanceId=instance_id, InitialContactId=cid,
                                              Attributes={"big2": "y" * 20000})
    attrs = connect.get_contact_attributes(InstanceId=instance_id, InitialContactId=cid)["Attributes"]
    assert set(attrs) == {"keep", "big1"}, "a rejected update must not be applied"


def test_contact_attributes_on_ended_contact(connect, instance_id, flow_id):
    cid = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                     ParticipantDetails={"DisplayName": "D"})["ContactId"]
    connect.stop_contact(InstanceId=instance_id, ContactId=cid)
    connect.update_contact_attributes(InstanceId=instance_id, InitialContactId=cid, Attributes={"after": "end"})
    assert connect.get_contact_attributes(InstanceId=instance_id,
                                          InitialContactId=cid)["Attributes"] == {"after": "end"}


def test_contact_attributes_unknown_contact(connect1, instance_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.get_contact_attributes(InstanceId=instance_id, InitialContactId=NO_SUCH_ID)
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_contact_attributes(InstanceId=instance_id, InitialContactId=NO_SUCH_ID,
                                           Attributes={"a": "b"})


def test_update_contact_attributes_missing_attributes(connect_raw, instance_id, flow_id):
    cid = connect_raw.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                         ParticipantDetails={"DisplayName": "D"})["ContactId"]
    with aws_error({"InvalidParameterException", "InvalidRequestException"}, 400, message_contains="Attributes"):
        connect_raw.update_contact_attributes(InstanceId=instance_id, InitialContactId=cid)
