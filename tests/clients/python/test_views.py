"""Views through boto3: customer-managed views (CreateView, DescribeView, ListViews,
UpdateViewContent, UpdateViewMetadata, DeleteView) and the read-only AWS-managed views every
instance has (detail, list, form, confirmation, cards, after-contact-work).

The last test kills the server and starts it again on the same data: views are stored durably.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from liaison_harness import aws_error

REGION_ARN_PREFIX = "arn:aws:connect:"
AWS_MANAGED = {
    "detail": ["ActionSelected", "Back"],
    "list": ["ActionSelected", "Back"],
    "form": ["Next", "Back", "Step", "Previous", "Cancel"],
    "confirmation": ["Next"],
    "cards": ["ActionSelected", "Back", "NoMatchFound"],
    "after-contact-work": ["Submit", "Cancel"],
}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def template(title: str) -> str:
    return json.dumps({"Head": {"Title": title}, "Body": [{"_id": "Confirm", "Type": "Button"}]})


def pages(call, list_key: str, **kw) -> list[dict]:
    """Every item of a paginated List* call, asserting that pages do not overlap."""
    items, token, seen_tokens = [], None, set()
    while True:
        r = call(**kw, **({"NextToken": token} if token else {}))
        items.extend(r[list_key])
        token = r.get("NextToken")
        if not token:
            return items
        assert token not in seen_tokens, "a NextToken repeats"
        seen_tokens.add(token)


def create(connect, instance_id, name=None, **kw):
    kw.setdefault("Status", "PUBLISHED")
    kw.setdefault("Content", {"Template": template("Hello"), "Actions": ["Confirm", "Back"]})
    return connect.create_view(InstanceId=instance_id, Name=name or unique("View"), **kw)["View"]


def test_create_and_describe_a_view(connect, instance_id):
    name = unique("Refund")
    content = template("Refund")
    view = create(connect, instance_id, name, Description="asks for a refund", Tags={"team": "care"},
                  Content={"Template": content, "Actions": ["Confirm", "Back"]})
    assert view["Arn"].startswith(REGION_ARN_PREFIX)
    assert view["Arn"].endswith(f":instance/{instance_id}/view/{view['Id']}")
    assert view["Name"] == name and view["Description"] == "asks for a refund"
    assert view["Status"] == "PUBLISHED" and view["Type"] == "CUSTOMER_MANAGED" and view["Version"] == 1
    assert view["Content"] == {"InputSchema": "{}", "Template": content, "Actions": ["Confirm", "Back"]}
    assert view["Tags"] == {"team": "care"}
    assert isinstance(view["CreatedTime"], dt.datetime) and isinstance(view["LastModifiedTime"], dt.datetime)
    assert view["ViewContentSha256"] == hashlib.sha256(content.encode()).hexdigest()

    for ref in (view["Id"], view["Arn"], f"{view['Id']}:$SAVED", f"{view['Arn']}:$LATEST", f"{view['Id']}:1"):
        described = connect.describe_view(InstanceId=instance_id, ViewId=ref)["View"]
        assert described == view, ref


def test_create_view_errors(connect, connect1, instance_id):
    name = unique("Taken")
    create(connect, instance_id, name)
    with aws_error("DuplicateResourceException", 409):
        create(connect1, instance_id, name)
    with aws_error("InvalidParameterException", 400, "not JSON"):
        create(connect1, instance_id, Content={"Template": "{not json", "Actions": []})
    with aws_error("InvalidParameterException", 400, "Template"):
        create(connect1, instance_id, Content={"Actions": ["Confirm"]})
    with aws_error("ResourceNotFoundException", 404):
        create(connect1, str(uuid.uuid4()))


def test_create_view_retry_with_a_client_token(connect, connect1, instance_id):
    name, token = unique("Retried"), str(uuid.uuid4())
    first = create(connect, instance_id, name, ClientToken=token)
    again = create(connect, instance_id, name, ClientToken=token)
    assert again["Id"] == first["Id"]
    with aws_error("DuplicateResourceException", 409):
        create(connect1, instance_id, name, ClientToken=token, Content={"Template": "{}", "Actions": []})


def test_describe_view_errors(connect1, instance_id):
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_view(InstanceId=instance_id, ViewId=str(uuid.uuid4()))
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_view(InstanceId=instance_id, ViewId="after-contact-work:2")


def test_aws_managed_views_are_described(connect, instance_id):
    for name, actions in AWS_MANAGED.items():
        arn = f"arn:aws:connect:{connect.meta.region_name}:aws:view/{name}"
        for ref in (arn, f"{arn}:1", name):
            view = connect.describe_view(InstanceId=instance_id, ViewId=ref)["View"]
            assert view["Arn"] == arn and view["Name"] == name and view["Type"] == "AWS_MANAGED", ref
            assert view["Version"] == 1 and view["Status"] == "PUBLISHED"
            assert view["Content"]["Actions"] == actions
            described = json.loads(view["Content"]["Template"])
            assert described["View"] == name and described["Inputs"]
            schema = json.loads(view["Content"]["InputSchema"])
            assert set(schema["properties"]) == set(described["Inputs"])
    acw = connect.describe_view(InstanceId=instance_id,
                                ViewId=f"arn:aws:connect:{connect.meta.region_name}:aws:view/after-contact-work:1")
    assert "ContactSummary_DefaultValue" in json.loads(acw["View"]["Content"]["Template"])["Inputs"]


def test_list_views_by_type_and_page(connect, instance_id):
    mine = [create(connect, instance_id, unique("Listed")) for _ in range(3)]
    everything = pages(connect.list_views, "ViewsSummaryList", InstanceId=instance_id, MaxResults=2)
    aws = [s for s in everything if s["Type"] == "AWS_MANAGED"]
    assert sorted(s["Name"] for s in aws) == sorted(AWS_MANAGED)
    by_id = {s["Id"]: s for s in everything}
    for view in mine:
        assert by_id[view["Id"]] == {"Id": view["Id"], "Arn": view["Arn"], "Name": view["Name"],
                                     "Type": "CUSTOMER_MANAGED", "Status": "PUBLISHED"}
    # AWS-managed views come first, then customer-managed ones by name.
    types = [s["Type"] for s in everything]
    assert types == sorted(types)
    customer_names = [s["Name"] for s in everything if s["Type"] == "CUSTOMER_MANAGED"]
    assert customer_names == sorted(customer_names)

    customer = pages(connect.list_views, "ViewsSummaryList", InstanceId=instance_id, Type="CUSTOMER_MANAGED")
    assert {s["Type"] for s in customer} == {"CUSTOMER_MANAGED"}
    assert {v["Id"] for v in mine} <= {s["Id"] for s in customer}
    managed = connect.list_views(InstanceId=instance_id, Type="AWS_MANAGED")["ViewsSummaryList"]
    assert sorted(s["Name"] for s in managed) == sorted(AWS_MANAGED)

    first = connect.list_views(InstanceId=instance_id, MaxResults=1)
    assert len(first["ViewsSummaryList"]) == 1 and first["NextToken"]


def test_list_views_errors(connect1, connect_raw, instance_id):
    with aws_error("InvalidParameterException", 400):
        connect1.list_views(InstanceId=instance_id, NextToken="bm90LWEtdG9rZW4")
    with aws_error("ResourceNotFoundException", 404):
        connect1.list_views(InstanceId=str(uuid.uuid4()))
    with aws_error(["InvalidParameterException", "InvalidRequestException"], 400):
        connect_raw.list_views(InstanceId=instance_id, Type="SOMEONE_ELSES")


def test_update_view_content(connect, connect1, instance_id):
    view = create(connect, instance_id)
    new_template = template("Changed")
    updated = connect.update_view_content(InstanceId=instance_id, ViewId=view["Arn"], Status="SAVED",
                                          Content={"Template": new_template, "Actions": ["Submit"]})["View"]
    assert updated["Id"] == view["Id"] and updated["Status"] == "SAVED"
    assert updated["Content"]["Template"] == new_template and updated["Content"]["Actions"] == ["Submit"]
    assert updated["CreatedTime"] == view["CreatedTime"]
    assert updated["LastModifiedTime"] >= view["LastModifiedTime"]
    assert connect.describe_view(InstanceId=instance_id, ViewId=view["Id"])["View"] == updated

    with aws_error("InvalidParameterException", 400):
        connect1.update_view_content(InstanceId=instance_id, ViewId=view["Id"], Status="PUBLISHED",
                                     Content={"Template": "[1, 2]", "Actions": []})
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_view_content(InstanceId=instance_id, ViewId=str(uuid.uuid4()), Status="PUBLISHED",
                                     Content={"Template": "{}", "Actions": []})
    with aws_error("InvalidRequestException", 400, "AWS-managed"):
        connect1.update_view_content(InstanceId=instance_id, ViewId="form", Status="PUBLISHED",
                                     Content={"Template": "{}", "Actions": []})


def test_update_view_metadata(connect, connect1, instance_id):
    view = create(connect, instance_id, Description="before")
    other = create(connect, instance_id)
    renamed = unique("Renamed")
    assert connect.update_view_metadata(InstanceId=instance_id, ViewId=view["Id"], Name=renamed,
                                        Description="after")["ResponseMetadata"]["HTTPStatusCode"] == 200
    described = connect.describe_view(InstanceId=instance_id, ViewId=view["Id"])["View"]
    assert described["Name"] == renamed and described["Description"] == "after"
    assert described["Content"] == view["Content"]
    connect.update_view_metadata(InstanceId=instance_id, ViewId=view["Id"], Description="only this")
    described = connect.describe_view(InstanceId=instance_id, ViewId=view["Id"])["View"]
    assert described["Name"] == renamed and described["Description"] == "only this"
    # Its own name again is no clash.
    connect.update_view_metadata(InstanceId=instance_id, ViewId=view["Id"], Name=renamed)

    with aws_error("DuplicateResourceException", 409):
        connect1.update_view_metadata(InstanceId=instance_id, ViewId=view["Id"], Name=other["Name"])
    with aws_error("InvalidRequestException", 400):
        connect1.update_view_metadata(InstanceId=instance_id, ViewId=view["Id"])
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_view_metadata(InstanceId=instance_id, ViewId=str(uuid.uuid4()), Name=unique("X"))
    with aws_error("InvalidRequestException", 400, "AWS-managed"):
        connect1.update_view_metadata(InstanceId=instance_id, ViewId="detail", Name=unique("Mine"))


def test_delete_view(connect, connect1, instance_id):
    view = create(connect, instance_id)
    connect.delete_view(InstanceId=instance_id, ViewId=f"{view['Arn']}:$LATEST")
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_view(InstanceId=instance_id, ViewId=view["Id"])
    with aws_error("ResourceNotFoundException", 404):
        connect1.delete_view(InstanceId=instance_id, ViewId=view["Id"])
    # The name is free again.
    create(connect, instance_id, view["Name"])
    with aws_error("InvalidRequestException", 400, "AWS-managed"):
        connect1.delete_view(InstanceId=instance_id,
                             ViewId=f"arn:aws:connect:{connect.meta.region_name}:aws:view/cards")


def test_views_survive_a_restart(server, instance_id):
    connect = server.client("connect")
    view = create(connect, instance_id, Description="durable")
    server.restart_after_crash()  # SIGKILL, then start again on the same data
    connect = server.client("connect")
    assert connect.describe_view(InstanceId=instance_id, ViewId=view["Id"])["View"] == view
