"""Attachments with boto3's participant client against the real binary: the three operations
around a plain HTTP PUT of the file, the ATTACHMENT item in the transcript, the download URL,
and the refusals."""

from __future__ import annotations

import urllib.error
import urllib.request


from liaison_harness import aws_error, transcript_all


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
