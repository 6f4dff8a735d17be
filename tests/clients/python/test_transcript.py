"""GetTranscript: contents, ordering, paging, start positions, validation."""

from __future__ import annotations

import time

import pytest

from liaison_harness import JOINED, TYPING, aws_error, parse_iso, start_chat

N = 12


@pytest.fixture(scope="module")
def convo(connect, part, instance_id, flow_id):
    """One chat with N customer messages (and a typing event in the middle), sent a few ms apart."""
    c = start_chat(connect, instance_id, flow_id, part=part, display_name="Pager")
    sent = []
    for i in range(N):
        r = part.send_message(ConnectionToken=c.connection_token, ContentType="text/plain", Content=f"m{i:02d}")
        sent.append(r["Id"])
        if i == N // 2:
            part.send_event(ConnectionToken=c.connection_token, ContentType=TYPING)
        time.sleep(0.01)
    full = part.get_transcript(ConnectionToken=c.connection_token, MaxResults=100,
                               SortOrder="ASCENDING")
    assert "NextToken" not in full
    c.sent = sent
    c.full = full["Transcript"]
    c.initial = full["InitialContactId"]
    return c


def ids(items):
    return [i["Id"] for i in items]


def is_contiguous_slice(sub, full):
    if not sub:
        return True
    start = full.index(sub[0])
    return full[start:start + len(sub)] == sub


def test_transcript_contents(convo):
    full = convo.full
    assert convo.initial == convo.contact_id
    times = [parse_iso(i["AbsoluteTime"]) for i in full]
    assert times == sorted(times), "ASCENDING means oldest first"
    msg_ids = [i["Id"] for i in full if i["Type"] == "MESSAGE" and i.get("ParticipantId") == convo.participant_id]
    assert msg_ids == convo.sent, "every message once, in order"
    assert len(set(ids(full))) == len(full), "no duplicate items"
    assert not [i for i in full if i.get("ContentType") == TYPING], "typing is not stored"
    joined = [i for i in full if i.get("ContentType") == JOINED]
    assert joined, "participant.joined is stored"
    j = joined[0]
    assert j["Type"] == "EVENT"
    assert j["ParticipantId"] == convo.participant_id
    assert j["ParticipantRole"] == "CUSTOMER"
    assert full.index(j) < full.index(next(i for i in full if i["Id"] == convo.sent[0]))
    for i in full:
        assert i["Id"] and i["Type"] and i["AbsoluteTime"], i
        assert i.get("ContactId") == convo.contact_id, i


def test_sort_order_descending(part, convo):
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=100, SortOrder="DESCENDING")
    assert ids(r["Transcript"]) == ids(convo.full)[::-1]


def test_sort_order_default_is_descending(part, convo):
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=100)
    assert ids(r["Transcript"]) == ids(convo.full)[::-1]


def test_default_max_results_is_ten(part, convo):
    assert len(convo.full) > 10
    r = part.get_transcript(ConnectionToken=convo.connection_token, SortOrder="ASCENDING")
    assert ids(r["Transcript"]) == ids(convo.full)[-10:], "no start position: scan backward from the newest"
    assert r.get("NextToken")


def test_chatjs_default_request_latest_page_oldest_first(part, convo):
    # ChatJS: {"MaxResults":15,"ScanDirection":"BACKWARD","SortOrder":"ASCENDING","StartPosition":{}}
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=15, ScanDirection="BACKWARD",
                            SortOrder="ASCENDING", StartPosition={})
    assert ids(r["Transcript"]) == ids(convo.full)[-15:]
    assert r["InitialContactId"] == convo.contact_id


@pytest.mark.parametrize("sort", ["ASCENDING", "DESCENDING"])
def test_paging_backward(part, convo, sort):
    pages, token = [], None
    for _ in range(20):
        kw = {"NextToken": token} if token else {}
        r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=3, ScanDirection="BACKWARD",
                                SortOrder=sort, StartPosition={}, **kw)
        page = r["Transcript"]
        assert len(page) <= 3
        pages.append(ids(page) if sort == "ASCENDING" else ids(page)[::-1])
        token = r.get("NextToken")
        if not token:
            break
    assert token is None, "paging did not terminate"
    assert all(len(p) == 3 for p in pages[:-1])
    assert pages[0] == ids(convo.full)[-3:], "first backward page is the newest items"
    walked = [i for p in reversed(pages) for i in p]
    assert walked == ids(convo.full), "pages cover the transcript exactly once"


def test_paging_forward_from_oldest(part, convo):
    first = convo.full[0]["Id"]
    got, token = [], None
    for _ in range(20):
        kw = {"NextToken": token} if token else {}
        r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=4, ScanDirection="FORWARD",
                                SortOrder="ASCENDING", StartPosition={"Id": first}, **kw)
        assert len(r["Transcript"]) <= 4
        got += ids(r["Transcript"])
        token = r.get("NextToken")
        if not token:
            break
    assert token is None
    full = ids(convo.full)
    # The anchor item may or may not be included (the model does not say); everything after it must be.
    assert got in (full, full[1:]), got


def test_start_position_id_forward(part, convo):
    full = ids(convo.full)
    anchor = convo.sent[4]
    k = full.index(anchor)
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=3, ScanDirection="FORWARD",
                            SortOrder="ASCENDING", StartPosition={"Id": anchor})
    got = ids(r["Transcript"])
    assert got in (full[k:k + 3], full[k + 1:k + 4]), (got, full)


def test_start_position_id_backward(part, convo):
    full = ids(convo.full)
    anchor = convo.sent[6]
    k = full.index(anchor)
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=3, ScanDirection="BACKWARD",
                            SortOrder="ASCENDING", StartPosition={"Id": anchor})
    got = ids(r["Transcript"])
    assert got in (full[k - 2:k + 1], full[k - 3:k]), (got, full)


def test_start_position_id_defaults_to_forward(part, convo):
    full = ids(convo.full)
    anchor = convo.sent[2]
    k = full.index(anchor)
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=2, SortOrder="ASCENDING",
                            StartPosition={"Id": anchor})
    got = ids(r["Transcript"])
    assert got in (full[k:k + 2], full[k + 1:k + 3]), (got, full)


def test_start_position_absolute_time_forward(part, convo):
    full = convo.full
    anchor_item = next(i for i in full if i["Id"] == convo.sent[8])
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=100, ScanDirection="FORWARD",
                            SortOrder="ASCENDING", StartPosition={"AbsoluteTime": anchor_item["AbsoluteTime"]})
    got = r["Transcript"]
    t0 = parse_iso(anchor_item["AbsoluteTime"])
    assert got, "items at or after the anchor time exist"
    assert all(parse_iso(i["AbsoluteTime"]) >= t0 for i in got), got
    assert is_contiguous_slice(ids(got), ids(full))
    assert ids(got)[-1] == ids(full)[-1], "forward scan runs to the newest item"
    assert convo.sent[9] in ids(got) and convo.sent[7] not in ids(got)


def test_start_position_absolute_time_backward(part, convo):
    full = convo.full
    anchor_item = next(i for i in full if i["Id"] == convo.sent[3])
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=100, ScanDirection="BACKWARD",
                            SortOrder="ASCENDING", StartPosition={"AbsoluteTime": anchor_item["AbsoluteTime"]})
    got = r["Transcript"]
    t0 = parse_iso(anchor_item["AbsoluteTime"])
    assert got and all(parse_iso(i["AbsoluteTime"]) <= t0 for i in got), got
    assert is_contiguous_slice(ids(got), ids(full))
    assert ids(got)[0] == ids(full)[0], "backward scan runs to the oldest item"
    assert convo.sent[2] in ids(got) and convo.sent[4] not in ids(got)


def test_start_position_most_recent_zero(part, convo):
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=3, ScanDirection="BACKWARD",
                            SortOrder="ASCENDING", StartPosition={"MostRecent": 0})
    assert ids(r["Transcript"]) == ids(convo.full)[-3:]


def test_start_position_most_recent_offset(part, convo):
    r = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=4, ScanDirection="BACKWARD",
                            SortOrder="ASCENDING", StartPosition={"MostRecent": 5})
    got = ids(r["Transcript"])
    assert 0 < len(got) <= 4
    assert is_contiguous_slice(got, ids(convo.full)), got
    assert ids(convo.full)[-1] not in got, "an offset of 5 from the newest item skips the newest item"


def test_max_results_over_limit(part_raw, convo):
    with aws_error("ValidationException", 400, message_contains="MaxResults"):
        part_raw.get_transcript(ConnectionToken=convo.connection_token, MaxResults=101)


def test_bad_scan_direction(part_raw, convo):
    with aws_error("ValidationException", 400):
        part_raw.get_transcript(ConnectionToken=convo.connection_token, ScanDirection="SIDEWAYS")


def test_bad_sort_order(part_raw, convo):
    with aws_error("ValidationException", 400):
        part_raw.get_transcript(ConnectionToken=convo.connection_token, SortOrder="RANDOM")


def test_garbage_next_token(part1, convo):
    with aws_error("ValidationException", 400):
        part1.get_transcript(ConnectionToken=convo.connection_token, NextToken="definitely-not-a-token")


def test_get_transcript_with_participant_token_denied(part1, convo):
    with aws_error("AccessDeniedException", 403):
        part1.get_transcript(ConnectionToken=convo.participant_token)


def test_js_style_paginator_equivalent(part, convo):
    """NextToken must be opaque and stable: the same request repeated gives the same next page."""
    r1 = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=5, SortOrder="ASCENDING")
    r2 = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=5, SortOrder="ASCENDING")
    assert ids(r1["Transcript"]) == ids(r2["Transcript"])
    p1 = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=5, SortOrder="ASCENDING",
                             NextToken=r1["NextToken"])
    p2 = part.get_transcript(ConnectionToken=convo.connection_token, MaxResults=5, SortOrder="ASCENDING",
                             NextToken=r2["NextToken"])
    assert ids(p1["Transcript"]) == ids(p2["Transcript"]) == ids(convo.full)[-10:-5]
