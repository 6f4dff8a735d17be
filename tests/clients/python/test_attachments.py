"""Attachments with boto3's participant client against the real binary: the three operations
around a plain HTTP PUT of the file, the ATTACHMENT item in the transcript, the download URL,
the refusals, and `liaison contact delete` taking the files with the chat."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from liaison_harness import aws_error, liaison_bin, transcript_all


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_boto3_shares_and_downloads_a_pdf(part, chat):
    c = chat()
    data = b"%PDF-1.4\n" + bytes(range(256)) * 40
    started = part.start_attachment_upload(ConnectionToken=c.connection_token, ContentType="application/pdf",
                                           AttachmentSizeInBytes=len(data), AttachmentName="invoice.pdf")
    meta = started["UploadMetadata"]
    assert meta["HeadersToInclude"] == {"Content-Type": "application/pdf"}
    status, _, _ = http("PUT", meta["Url"], data, meta["HeadersToInclude"])
    assert status == 200
    part.complete_attachment_upload(ConnectionToken=c.connection_token, AttachmentIds=[started["AttachmentId"]])

    items = [i for i in transcript_all(part, c.connection_token) if i["Type"] == "ATTACHMENT"]
    assert items[0]["Attachments"] == [{"ContentType": "application/pdf", "AttachmentId": started["AttachmentId"],
                                        "AttachmentName": "invoice.pdf", "Status": "APPROVED"}]
    got = part.get_attachment(ConnectionToken=c.connection_token, AttachmentId=started["AttachmentId"],
                              UrlExpiryInSeconds=30)
    assert got["AttachmentSizeInBytes"] == len(data)
    status, body, headers = http("GET", got["Url"])
    assert status == 200 and body == data and headers["content-type"] == "application/pdf"


def test_boto3_sees_the_refusals(part_raw, chat):
    c = chat()
    with aws_error("ValidationException", 400):
        part_raw.start_attachment_upload(ConnectionToken=c.connection_token, ContentType="application/x-msdownload",
                                         AttachmentSizeInBytes=10, AttachmentName="setup.exe")
    with aws_error("ValidationException", 400):
        part_raw.start_attachment_upload(ConnectionToken=c.connection_token, ContentType="image/png",
                                         AttachmentSizeInBytes=21 * 1024 * 1024, AttachmentName="huge.png")
    with aws_error("ValidationException", 400):
        part_raw.complete_attachment_upload(ConnectionToken=c.connection_token, AttachmentIds=["a", "b"])
    with aws_error("ValidationException", 400):
        part_raw.get_attachment(ConnectionToken=c.connection_token, AttachmentId="not-in-this-chat")


def test_deleting_an_ended_chat_deletes_its_files(server, connect, part, chat, instance_id):
    c = chat()
    data = b"col1,col2\n1,2\n"
    started = part.start_attachment_upload(ConnectionToken=c.connection_token, ContentType="text/csv",
                                           AttachmentSizeInBytes=len(data), AttachmentName="rows.csv")
    meta = started["UploadMetadata"]
    assert http("PUT", meta["Url"], data, meta["HeadersToInclude"])[0] == 200
    part.complete_attachment_upload(ConnectionToken=c.connection_token, AttachmentIds=[started["AttachmentId"]])
    url = part.get_attachment(ConnectionToken=c.connection_token, AttachmentId=started["AttachmentId"])["Url"]
    stored = server.data_dir / "attachments" / c.contact_id / started["AttachmentId"]
    assert stored.read_bytes() == data

    def delete():
        return subprocess.run([str(liaison_bin()), "contact", "delete", c.contact_id, "--data", str(server.data_dir)],
                              capture_output=True, text=True, timeout=30)

    refused = delete()
    assert refused.returncode == 1 and "still going on" in refused.stderr
    connect.stop_contact(InstanceId=instance_id, ContactId=c.contact_id)
    done = delete()
    assert done.returncode == 0, done.stderr
    assert not stored.exists()
    assert http("GET", url)[0] == 403
    with pytest.raises(ClientError):
        connect.describe_contact(InstanceId=instance_id, ContactId=c.contact_id)
