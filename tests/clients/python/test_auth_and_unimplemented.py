"""SigV4 on the Connect API, bearer-only auth on the participant API, and operations not built yet."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from liaison_harness import (assert_raw_aws_error, aws_error, raw_request, signed_request, start_chat)

AUTH_CODES = {"InvalidSignatureException", "UnrecognizedClientException"}


# ---------------------------------------------------------------------------- SigV4


def test_signed_raw_request_accepted(server):
    r = signed_request(server, "GET", "/instance", b"")
    assert r.status == 200, r
    assert r.json()["InstanceSummaryList"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "ap-southeast-1"])
def test_any_region_accepted(server, region):
    c = server.client("connect", retries=False, region=region)
    assert len(c.list_instances()["InstanceSummaryList"]) == 1


def test_unknown_access_key_rejected(server):
    c = server.client("connect", retries=False, access_key="AKIDUNKNOWN0000000000", secret_key="nope")
    with aws_error(AUTH_CODES, 403):
        c.list_instances()


def test_wrong_secret_rejected(server):
    c = server.client("connect", retries=False, secret_key=server.secret_key + "x")
    with aws_error(AUTH_CODES, 403):
        c.list_instances()


def test_wrong_secret_rejected_on_write(server, instance_id, flow_id):
    c = server.client("connect", retries=False, secret_key="wrong-" + server.secret_key)
    with aws_error(AUTH_CODES, 403):
        c.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id, ParticipantDetails={"DisplayName": "x"})


def test_unsigned_connect_request_rejected(server):
    c = server.client("connect", retries=False, unsigned=True)
    with pytest.raises(ClientError) as ei:
        c.list_instances()
    resp = ei.value.response
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403, resp
    code = resp["Error"]["Code"]
    assert code and not code.isdigit(), resp
    assert resp["Error"]["Message"], resp


def test_signature_for_wrong_service_rejected(server):
    r = signed_request(server, "GET", "/instance", b"", service="execute-api")
    assert_raw_aws_error(r, 403, AUTH_CODES)


def test_tampered_body_rejected(server, instance_id, flow_id):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    good = json.dumps({"InstanceId": instance_id, "ContactFlowId": flow_id,
                       "ParticipantDetails": {"DisplayName": "signed"}}).encode()
    evil = good.replace(b"signed", b"evil!!")
    req = AWSRequest(method="PUT", url=server.endpoint + "/contact/chat", data=good,
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "connect", "us-east-1").add_auth(req)
    headers = dict(req.prepare().headers.items())
    headers["Host"] = f"127.0.0.1:{server.port}"
    r = raw_request(server, "PUT", "/contact/chat", body=evil, headers=headers)
    assert_raw_aws_error(r, 403, AUTH_CODES)


def test_participant_keys_are_not_admin_keys(server):
    """Dummy credentials that work on the participant API must not open the Connect API."""
    c = server.client("connect", retries=False, access_key="dummy", secret_key="dummy")
    with aws_error(AUTH_CODES, 403):
        c.list_instances()


# ---------------------------------------------------------------------------- participant API ignores SigV4


def test_participant_api_unsigned(server, connect, instance_id, flow_id):
    p = server.client("connectparticipant", unsigned=True)
    r = connect.start_chat_contact(InstanceId=instance_id, ContactFlowId=flow_id,
                                   ParticipantDetails={"DisplayName": "Unsigned"})
    conn = p.create_participant_connection(ParticipantToken=r["ParticipantToken"],
                                           Type=["CONNECTION_CREDENTIALS"])
    tok = conn["ConnectionCredentials"]["ConnectionToken"]
    assert p.send_message(ConnectionToken=tok, ContentType="text/plain", Content="no signature")["Id"]


def test_participant_api_empty_key_signature_like_chatjs(server, connect, part, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part)
    body = json.dumps({"ContentType": "text/plain", "Content": "signed with an empty key", "ClientToken": "ct-1"})
    r = raw_request(server, "POST", "/participant/message", body=body, headers={
        "content-type": "application/json",
        "x-amz-bearer": c.connection_token,
        "x-amz-date": "20261121T190709Z",
        "authorization": "AWS4-HMAC-SHA256 Credential=/20261121/us-east-1/execute-api/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-bearer;x-amz-date, Signature=" + "0" * 64,
    })
    assert r.status == 200, r
    assert r.json()["Id"]


# ---------------------------------------------------------------------------- not built yet


def _assert_not_implemented(call, operation: str):
    with pytest.raises(ClientError) as ei:
        call()
    resp = ei.value.response
    status = resp["ResponseMetadata"]["HTTPStatusCode"]
    code = resp["Error"]["Code"]
    msg = resp["Error"]["Message"]
    assert isinstance(code, str) and code and not code.isdigit(), f"no AWS error code: {resp}"
    assert 400 <= status < 500, f"expected a 4xx AWS error, got {status}: {resp}"
    assert operation in msg, f"message should name {operation}: {resp}"
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype", "").split(":")[0] == code, resp
    assert resp["ResponseMetadata"].get("RequestId"), resp


def test_connect_list_associated_contacts_not_implemented(connect1, instance_id):
    _assert_not_implemented(lambda: connect1.list_associated_contacts(InstanceId=instance_id,
                                                                      ContactId=str(uuid.uuid4())),
                            "ListAssociatedContacts")


def test_list_instance_attributes_not_implemented(connect_raw, instance_id):
    _assert_not_implemented(lambda: connect_raw.list_instance_attributes(InstanceId=instance_id),
                            "ListInstanceAttributes")


def test_participant_describe_view_not_implemented(connect, part1, instance_id, flow_id):
    c = start_chat(connect, instance_id, flow_id, part=part1)
    _assert_not_implemented(lambda: part1.describe_view(ViewToken="view-token", ConnectionToken=c.connection_token),
                            "DescribeView")
