"""The organisation an agent workspace needs, through boto3: users (CreateUser, DescribeUser,
ListUsers, UpdateUserRoutingProfile, UpdateUserIdentityInfo, DeleteUser, PutUserStatus), routing
profiles (Create/Describe/List, AssociateRoutingProfileQueues, ListRoutingProfileQueues,
UpdateRoutingProfileConcurrency, UpdateRoutingProfileQueues), queues (Create/Describe/List,
UpdateQueueStatus), hours of operation (Create/Describe/List), agent statuses (Create/Describe/
List) and ListSecurityProfiles, with the defaults a fresh instance has.

Out-of-range values go through `connect_raw` (no client-side validation), so the server's own
checks answer. The last test kills the server and starts it again on the same data.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from liaison_harness import aws_error, strip_meta

PASSWORD = "Sup3rSecret!"
DAYS = ["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


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


def assert_recent(when: dt.datetime) -> None:
    assert isinstance(when, dt.datetime), when
    age = (dt.datetime.now(dt.timezone.utc) - when).total_seconds()
    assert -5 <= age <= 600, when


@pytest.fixture(scope="module")
def instance_arn(connect, instance_id) -> str:
    return connect.describe_instance(InstanceId=instance_id)["Instance"]["Arn"]


@pytest.fixture(scope="module")
def basic_hours(connect, instance_id) -> dict:
    summaries = connect.list_hours_of_operations(InstanceId=instance_id)["HoursOfOperationSummaryList"]
    return next(s for s in summaries if s["Name"] == "Basic Hours")


@pytest.fixture(scope="module")
def basic_queue(connect, instance_id) -> dict:
    summaries = pages(connect.list_queues, "QueueSummaryList", InstanceId=instance_id)
    return next(s for s in summaries if s["Name"] == "BasicQueue")


@pytest.fixture(scope="module")
def basic_profile(connect, instance_id) -> dict:
    summaries = connect.list_routing_profiles(InstanceId=instance_id)["RoutingProfileSummaryList"]
    return next(s for s in summaries if s["Name"] == "Basic Routing Profile")


@pytest.fixture(scope="module")
def security_profiles(connect, instance_id) -> dict[str, dict]:
    summaries = connect.list_security_profiles(InstanceId=instance_id)["SecurityProfileSummaryList"]
    return {s["Name"]: s for s in summaries}


@pytest.fixture(scope="module")
def statuses(connect, instance_id) -> dict[str, dict]:
    summaries = connect.list_agent_statuses(InstanceId=instance_id)["AgentStatusSummaryList"]
    return {s["Name"]: s for s in summaries}


def new_queue(connect, instance_id, hours_id, name=None, **kw) -> str:
    return connect.create_queue(InstanceId=instance_id, Name=name or unique("Queue"),
                                HoursOfOperationId=hours_id, **kw)["QueueId"]


def chat_queue(queue_id: str, priority: int = 1, delay: int = 0, channel: str = "CHAT") -> dict:
    return {"QueueReference": {"QueueId": queue_id, "Channel": channel}, "Priority": priority, "Delay": delay}


def new_profile(connect, instance_id, outbound_queue, name=None, **kw) -> str:
    kw.setdefault("MediaConcurrencies", [{"Channel": "CHAT", "Concurrency": 3}])
    return connect.create_routing_profile(InstanceId=instance_id, Name=name or unique("Profile"),
                                          Description="agents", DefaultOutboundQueueId=outbound_queue,
                                          **kw)["RoutingProfileId"]


def new_user(connect, instance_id, profile_id, security_profile_ids, username=None, **kw) -> dict:
    kw.setdefault("Password", PASSWORD)
    return connect.create_user(InstanceId=instance_id, Username=username or unique("agent"),
                               SecurityProfileIds=security_profile_ids, RoutingProfileId=profile_id, **kw)


# --------------------------------------------------------------------------------------------
# What a fresh instance has
# --------------------------------------------------------------------------------------------


def test_basic_hours_are_24_7(connect, instance_id, instance_arn, basic_hours):
    assert basic_hours["Arn"] == f"{instance_arn}/operating-hours/{basic_hours['Id']}"
    assert basic_hours["LastModifiedRegion"] == "us-east-1"
    assert_recent(basic_hours["LastModifiedTime"])
    hours = connect.describe_hours_of_operation(InstanceId=instance_id,
                                                HoursOfOperationId=basic_hours["Id"])["HoursOfOperation"]
    assert hours["HoursOfOperationId"] == basic_hours["Id"]
    assert hours["HoursOfOperationArn"] == basic_hours["Arn"]
    assert hours["Name"] == "Basic Hours" and hours["TimeZone"] == "UTC"
    assert sorted(c["Day"] for c in hours["Config"]) == sorted(DAYS)
    for day in hours["Config"]:
        assert day["StartTime"] == day["EndTime"] == {"Hours": 0, "Minutes": 0}, day


def test_basic_queue_is_the_one_flows_use_and_has_basic_hours(connect, instance_id, instance_arn, basic_queue,
                                                               basic_hours):
    assert basic_queue["QueueType"] == "STANDARD"
    assert basic_queue["Arn"] == f"{instance_arn}/queue/{basic_queue['Id']}"
    queue = connect.describe_queue(InstanceId=instance_id, QueueId=basic_queue["Id"])["Queue"]
    assert queue["QueueId"] == basic_queue["Id"] and queue["QueueArn"] == basic_queue["Arn"]
    assert queue["Name"] == "BasicQueue" and queue["Status"] == "ENABLED"
    assert queue["HoursOfOperationId"] == basic_hours["Id"]
    # The default chat flow queues chats on this very queue.
    flows = connect.list_contact_flows(InstanceId=instance_id)["ContactFlowSummaryList"]
    default = next(f for f in flows if f["Name"] == "Default chat flow")
    content = json.loads(connect.describe_contact_flow(InstanceId=instance_id,
                                                       ContactFlowId=default["Id"])["ContactFlow"]["Content"])
    assert basic_queue["Id"] in json.dumps(content)


def test_basic_routing_profile_takes_two_chats_from_basic_queue(connect, instance_id, instance_arn, basic_profile,
                                                                basic_queue):
    assert basic_profile["Arn"] == f"{instance_arn}/routing-profile/{basic_profile['Id']}"
    profile = connect.describe_routing_profile(InstanceId=instance_id,
                                               RoutingProfileId=basic_profile["Id"])["RoutingProfile"]
    assert profile["RoutingProfileId"] == basic_profile["Id"] and profile["InstanceId"] == instance_id
    assert profile["MediaConcurrencies"] == [{"Channel": "CHAT", "Concurrency": 2}]
    assert profile["DefaultOutboundQueueId"] == basic_queue["Id"]
    assert profile["IsDefault"] is True
    assert profile["NumberOfAssociatedQueues"] == 1 and profile["AssociatedQueueIds"] == [basic_queue["Id"]]
    queues = connect.list_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=basic_profile["Id"])
    assert queues["RoutingProfileQueueConfigSummaryList"] == [{
        "QueueId": basic_queue["Id"], "QueueArn": basic_queue["Arn"], "QueueName": "BasicQueue",
        "Priority": 1, "Delay": 0, "Channel": "CHAT"}]
    assert_recent(queues["LastModifiedTime"])


def test_available_and_offline_statuses(connect, instance_id, instance_arn, statuses):
    names = [s["Name"] for s in connect.list_agent_statuses(InstanceId=instance_id)["AgentStatusSummaryList"]]
    assert names[:2] == ["Available", "Offline"], names
    assert statuses["Available"]["Type"] == "ROUTABLE" and statuses["Offline"]["Type"] == "OFFLINE"
    available = connect.describe_agent_status(InstanceId=instance_id,
                                              AgentStatusId=statuses["Available"]["Id"])["AgentStatus"]
    assert available["AgentStatusARN"] == f"{instance_arn}/agent-state/{available['AgentStatusId']}"
    assert (available["Name"], available["Type"], available["State"], available["DisplayOrder"]) == \
        ("Available", "ROUTABLE", "ENABLED", 1)


def test_admin_and_agent_security_profiles_page_by_page(connect, instance_id, instance_arn, security_profiles):
    assert {"Admin", "Agent"} <= set(security_profiles)
    for profile in security_profiles.values():
        assert profile["Arn"] == f"{instance_arn}/security-profile/{profile['Id']}"
        assert profile["LastModifiedRegion"] == "us-east-1"
    first = connect.list_security_profiles(InstanceId=instance_id, MaxResults=1)
    assert len(first["SecurityProfileSummaryList"]) == 1 and first["NextToken"]
    everything = pages(connect.list_security_profiles, "SecurityProfileSummaryList", InstanceId=instance_id,
                       MaxResults=1)
    assert [p["Name"] for p in everything] == sorted(security_profiles)


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------


def test_create_describe_and_list_a_user(connect, instance_id, instance_arn, basic_profile, security_profiles):
    username = unique("ana")
    agent = security_profiles["Agent"]
    created = new_user(connect, instance_id, basic_profile["Id"], [agent["Arn"]], username=username,
                       IdentityInfo={"FirstName": "Ana", "LastName": "Lima", "Email": "ana@example.com",
                                     "Mobile": "+351912345678"},
                       PhoneConfig={"PhoneType": "SOFT_PHONE", "AutoAccept": True, "AfterContactWorkTimeLimit": 30},
                       Tags={"team": "support"})
    assert set(strip_meta(created)) == {"UserId", "UserArn"}
    assert created["UserArn"] == f"{instance_arn}/agent/{created['UserId']}"

    for ref in (created["UserId"], created["UserArn"]):
        user = connect.describe_user(InstanceId=instance_id, UserId=ref)["User"]
        assert user["Id"] == created["UserId"] and user["Arn"] == created["UserArn"]
        assert user["Username"] == username
        assert user["IdentityInfo"] == {"FirstName": "Ana", "LastName": "Lima", "Email": "ana@example.com",
                                        "Mobile": "+351912345678"}
        assert user["PhoneConfig"] == {"PhoneType": "SOFT_PHONE", "AutoAccept": True, "AfterContactWorkTimeLimit": 30}
        assert user["SecurityProfileIds"] == [agent["Id"]], "ARNs are stored as ids"
        assert user["RoutingProfileId"] == basic_profile["Id"]
        assert user["Tags"] == {"team": "support"}
        assert user["LastModifiedRegion"] == "us-east-1"
        assert_recent(user["LastModifiedTime"])
        assert "Password" not in json.dumps(user, default=str)

    summaries = pages(connect.list_users, "UserSummaryList", InstanceId=instance_id)
    mine = [s for s in summaries if s["Id"] == created["UserId"]]
    assert len(mine) == 1 and mine[0]["Username"] == username and mine[0]["Arn"] == created["UserArn"]
    assert set(mine[0]) == {"Id", "Arn", "Username", "LastModifiedTime", "LastModifiedRegion"}
    assert [s["Username"] for s in summaries] == sorted(s["Username"] for s in summaries)

    # Every user comes with an agent queue of their own, identified like them.
    agent_queues = pages(connect.list_queues, "QueueSummaryList", InstanceId=instance_id, QueueTypes=["AGENT"])
    own = next(q for q in agent_queues if q["Id"] == created["UserId"])
    assert own["QueueType"] == "AGENT" and own["Name"] == f"agent/{username}"
    queue = connect.describe_queue(InstanceId=instance_id, QueueId=created["UserId"])["Queue"]
    assert queue["Status"] == "ENABLED"


def test_usernames_are_unique(connect, connect1, instance_id, basic_profile, security_profiles):
    username = unique("twin")
    new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]], username=username)
    with aws_error("DuplicateResourceException", 409, message_contains=username):
        new_user(connect1, instance_id, basic_profile["Id"], [security_profiles["Admin"]["Id"]], username=username)
    users = pages(connect.list_users, "UserSummaryList", InstanceId=instance_id)
    assert [u["Username"] for u in users].count(username) == 1


@pytest.mark.parametrize("password", [None, "short1A", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere",
                                      "Has space1A", "A1" + "b" * 63])
def test_passwords_must_meet_connects_rule(connect1, instance_id, basic_profile, security_profiles, password):
    kw = {} if password is None else {"Password": password}
    with aws_error("InvalidParameterException", 400) as h:
        connect1.create_user(InstanceId=instance_id, Username=unique("weak"), RoutingProfileId=basic_profile["Id"],
                             SecurityProfileIds=[security_profiles["Agent"]["Id"]], **kw)
    if password:
        assert password not in h.error.response["Error"]["Message"], "the password is never echoed"


def test_create_user_names_what_is_missing(connect1, instance_id, basic_profile, security_profiles):
    agent = [security_profiles["Agent"]["Id"]]
    with aws_error("ResourceNotFoundException", 404, message_contains="no-such-profile"):
        new_user(connect1, instance_id, "no-such-profile", agent)
    with aws_error("ResourceNotFoundException", 404, message_contains="no-such-security-profile"):
        new_user(connect1, instance_id, basic_profile["Id"], agent + ["no-such-security-profile"])
    with aws_error("ResourceNotFoundException", 404):
        new_user(connect1, "no-such-instance", basic_profile["Id"], agent)
    with aws_error("ResourceNotFoundException", 404):
        new_user(connect1, instance_id, basic_profile["Id"], agent, HierarchyGroupId="some-group")
    with aws_error("InvalidParameterException", 400):
        new_user(connect1, instance_id, basic_profile["Id"], agent, DirectoryUserId="dir-user")


def test_create_user_model_constraints(connect_raw, instance_id, basic_profile, security_profiles):
    agent = security_profiles["Agent"]["Id"]
    bad = [
        {"Username": "", "SecurityProfileIds": [agent]},
        {"Username": "x" * 101, "SecurityProfileIds": [agent]},
        {"Username": unique("u"), "SecurityProfileIds": []},
        {"Username": unique("u"), "SecurityProfileIds": [agent] * 11},
        {"Username": unique("u"), "SecurityProfileIds": [agent], "PhoneConfig": {"PhoneType": "TIN_CAN"}},
        {"Username": unique("u"), "SecurityProfileIds": [agent], "IdentityInfo": {"FirstName": "x" * 256}},
    ]
    for kw in bad:
        with aws_error("InvalidParameterException", 400):
            connect_raw.create_user(InstanceId=instance_id, Password=PASSWORD, RoutingProfileId=basic_profile["Id"],
                                    **kw)


def test_update_routing_profile_and_identity_info(connect, connect1, instance_id, basic_profile, basic_queue,
                                                  security_profiles):
    user_id = new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]],
                       IdentityInfo={"FirstName": "Old", "Email": "old@example.com"})["UserId"]
    before = connect.describe_user(InstanceId=instance_id, UserId=user_id)["User"]
    night = new_profile(connect, instance_id, basic_queue["Id"], name=unique("Night"))
    assert strip_meta(connect.update_user_routing_profile(InstanceId=instance_id, UserId=user_id,
                                                          RoutingProfileId=night)) == {}
    assert strip_meta(connect.update_user_identity_info(InstanceId=instance_id, UserId=user_id,
                                                        IdentityInfo={"FirstName": "New", "LastName": "Name"})) == {}
    user = connect.describe_user(InstanceId=instance_id, UserId=user_id)["User"]
    assert user["RoutingProfileId"] == night
    assert user["IdentityInfo"] == {"FirstName": "New", "LastName": "Name"}, "identity info is replaced"
    assert user["LastModifiedTime"] >= before["LastModifiedTime"]
    profile = connect.describe_routing_profile(InstanceId=instance_id, RoutingProfileId=night)["RoutingProfile"]
    assert profile["NumberOfAssociatedUsers"] == 1

    with aws_error("ResourceNotFoundException", 404):
        connect1.update_user_routing_profile(InstanceId=instance_id, UserId=user_id, RoutingProfileId="nope")
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_user_routing_profile(InstanceId=instance_id, UserId="nobody", RoutingProfileId=night)
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_user_identity_info(InstanceId=instance_id, UserId="nobody", IdentityInfo={"FirstName": "X"})


def test_delete_user(connect, connect1, instance_id, basic_profile, security_profiles):
    username = unique("leaver")
    user_id = new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]],
                       username=username)["UserId"]
    assert strip_meta(connect.delete_user(InstanceId=instance_id, UserId=user_id)) == {}
    with aws_error("ResourceNotFoundException", 404, message_contains=user_id):
        connect1.describe_user(InstanceId=instance_id, UserId=user_id)
    with aws_error("ResourceNotFoundException", 404):
        connect1.delete_user(InstanceId=instance_id, UserId=user_id)
    assert user_id not in {u["Id"] for u in pages(connect.list_users, "UserSummaryList", InstanceId=instance_id)}
    # The username is free again.
    new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]], username=username)


def test_list_users_pages(connect, connect1, connect_raw, instance_id, basic_profile, security_profiles):
    prefix = unique("page")
    created = {new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]],
                        username=f"{prefix}-{n}")["UserId"] for n in range(5)}
    first = connect.list_users(InstanceId=instance_id, MaxResults=2)
    assert len(first["UserSummaryList"]) == 2 and first["NextToken"]
    everyone = pages(connect.list_users, "UserSummaryList", InstanceId=instance_id, MaxResults=2)
    ids = [u["Id"] for u in everyone]
    assert len(ids) == len(set(ids)) and created <= set(ids)
    paginated = [u for page in connect.get_paginator("list_users").paginate(InstanceId=instance_id,
                                                                          PaginationConfig={"PageSize": 3})
                 for u in page["UserSummaryList"]]
    assert [u["Id"] for u in paginated] == ids

    with aws_error("InvalidParameterException", 400):
        connect1.list_users(InstanceId=instance_id, NextToken="not-a-token")
    for bad in (0, 1001):
        with aws_error("InvalidParameterException", 400):
            connect_raw.list_users(InstanceId=instance_id, MaxResults=bad)
    with aws_error("ResourceNotFoundException", 404):
        connect1.list_users(InstanceId="no-such-instance")


def test_put_user_status(connect, connect1, instance_id, basic_profile, security_profiles, statuses):
    user_id = new_user(connect, instance_id, basic_profile["Id"], [security_profiles["Agent"]["Id"]])["UserId"]
    for name in ("Available", "Offline"):
        assert strip_meta(connect.put_user_status(InstanceId=instance_id, UserId=user_id,
                                                  AgentStatusId=statuses[name]["Id"])) == {}
    # A status's ARN names it as well.
    connect.put_user_status(InstanceId=instance_id, UserId=user_id, AgentStatusId=statuses["Available"]["Arn"])

    with aws_error("ResourceNotFoundException", 404):
        connect1.put_user_status(InstanceId=instance_id, UserId=user_id, AgentStatusId="no-such-status")
    with aws_error("ResourceNotFoundException", 404):
        connect1.put_user_status(InstanceId=instance_id, UserId="nobody", AgentStatusId=statuses["Available"]["Id"])
    disabled = connect.create_agent_status(InstanceId=instance_id, Name=unique("Retired"),
                                           State="DISABLED")["AgentStatusId"]
    with aws_error("InvalidRequestException", 400):
        connect1.put_user_status(InstanceId=instance_id, UserId=user_id, AgentStatusId=disabled)


# --------------------------------------------------------------------------------------------
# Routing profiles
# --------------------------------------------------------------------------------------------


def test_create_describe_and_list_a_routing_profile(connect, instance_id, instance_arn, basic_hours, basic_queue):
    sales = new_queue(connect, instance_id, basic_hours["Id"], name=unique("Sales"))
    name = unique("Front desk")
    created = connect.create_routing_profile(
        InstanceId=instance_id, Name=name, Description="front desk agents", DefaultOutboundQueueId=sales,
        MediaConcurrencies=[{"Channel": "CHAT", "Concurrency": 5,
                             "CrossChannelBehavior": {"BehaviorType": "ROUTE_CURRENT_CHANNEL_ONLY"}}],
        QueueConfigs=[chat_queue(basic_queue["Id"], priority=2, delay=30), chat_queue(sales, priority=1)],
        AgentAvailabilityTimer="TIME_SINCE_LAST_INBOUND", Tags={"floor": "1"})
    assert set(strip_meta(created)) == {"RoutingProfileArn", "RoutingProfileId"}
    profile_id = created["RoutingProfileId"]
    assert created["RoutingProfileArn"] == f"{instance_arn}/routing-profile/{profile_id}"

    profile = connect.describe_routing_profile(InstanceId=instance_id, RoutingProfileId=profile_id)["RoutingProfile"]
    assert profile["Name"] == name and profile["Description"] == "front desk agents"
    assert profile["RoutingProfileArn"] == created["RoutingProfileArn"]
    assert profile["MediaConcurrencies"] == [{"Channel": "CHAT", "Concurrency": 5,
                                              "CrossChannelBehavior": {"BehaviorType": "ROUTE_CURRENT_CHANNEL_ONLY"}}]
    assert profile["DefaultOutboundQueueId"] == sales
    assert profile["AgentAvailabilityTimer"] == "TIME_SINCE_LAST_INBOUND"
    assert profile["Tags"] == {"floor": "1"}
    assert profile["IsDefault"] is False
    assert profile["NumberOfAssociatedQueues"] == 2 and sorted(profile["AssociatedQueueIds"]) == sorted(
        [basic_queue["Id"], sales])
    assert profile["NumberOfAssociatedUsers"] == 0
    assert_recent(profile["LastModifiedTime"])

    queues = connect.list_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=profile_id)
    assert [(q["QueueId"], q["Priority"], q["Delay"]) for q in queues["RoutingProfileQueueConfigSummaryList"]] == [
        (sales, 1, 0), (basic_queue["Id"], 2, 30)], "by priority"
    summaries = pages(connect.list_routing_profiles, "RoutingProfileSummaryList", InstanceId=instance_id)
    mine = next(s for s in summaries if s["Id"] == profile_id)
    assert mine["Name"] == name and mine["Arn"] == created["RoutingProfileArn"]


def test_routing_profile_names_are_unique_and_queues_must_exist(connect, connect1, instance_id, basic_queue):
    name = unique("Twice")
    new_profile(connect, instance_id, basic_queue["Id"], name=name)
    with aws_error("DuplicateResourceException", 409, message_contains=name):
        new_profile(connect1, instance_id, basic_queue["Id"], name=name)
    with aws_error("ResourceNotFoundException", 404, message_contains="no-such-queue"):
        new_profile(connect1, instance_id, "no-such-queue")
    with aws_error("ResourceNotFoundException", 404, message_contains="no-such-queue"):
        new_profile(connect1, instance_id, basic_queue["Id"], QueueConfigs=[chat_queue("no-such-queue")])
    with aws_error("InvalidParameterException", 400):
        new_profile(connect1, instance_id, basic_queue["Id"],
                    QueueConfigs=[chat_queue(basic_queue["Id"]), chat_queue(basic_queue["Id"], priority=3)])
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_routing_profile(InstanceId=instance_id, RoutingProfileId="no-such-profile")


@pytest.mark.parametrize("concurrencies, queue_config", [
    ([{"Channel": "CHAT", "Concurrency": 0}], None),
    ([{"Channel": "CHAT", "Concurrency": 11}], None),
    ([{"Channel": "SMOKE_SIGNALS", "Concurrency": 1}], None),
    ([{"Channel": "CHAT", "Concurrency": 2}, {"Channel": "CHAT", "Concurrency": 3}], None),
    ([{"Channel": "VOICE", "Concurrency": 2}], None),
    ([{"Channel": "CHAT", "Concurrency": 2}], {"Priority": 0, "Delay": 0}),
    ([{"Channel": "CHAT", "Concurrency": 2}], {"Priority": 100, "Delay": 0}),
    ([{"Channel": "CHAT", "Concurrency": 2}], {"Priority": 1, "Delay": -1}),
    ([{"Channel": "CHAT", "Concurrency": 2}], {"Priority": 1, "Delay": 10000}),
])
def test_routing_profile_ranges(connect_raw, instance_id, basic_queue, concurrencies, queue_config):
    kw = {}
    if queue_config:
        kw["QueueConfigs"] = [{"QueueReference": {"QueueId": basic_queue["Id"], "Channel": "CHAT"}, **queue_config}]
    with aws_error("InvalidParameterException", 400):
        connect_raw.create_routing_profile(InstanceId=instance_id, Name=unique("Out of range"), Description="x",
                                           DefaultOutboundQueueId=basic_queue["Id"],
                                           MediaConcurrencies=concurrencies, **kw)


def test_associate_and_update_routing_profile_queues(connect, connect1, instance_id, basic_hours, basic_queue):
    profile_id = new_profile(connect, instance_id, basic_queue["Id"], QueueConfigs=[chat_queue(basic_queue["Id"])])
    support = new_queue(connect, instance_id, basic_hours["Id"], name=unique("Support"))

    def served():
        r = connect.list_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=profile_id)
        return {(q["QueueId"], q["Channel"]): (q["Priority"], q["Delay"])
                for q in r["RoutingProfileQueueConfigSummaryList"]}

    assert strip_meta(connect.associate_routing_profile_queues(
        InstanceId=instance_id, RoutingProfileId=profile_id,
        QueueConfigs=[chat_queue(support, priority=5, delay=60)])) == {}
    assert served() == {(basic_queue["Id"], "CHAT"): (1, 0), (support, "CHAT"): (5, 60)}

    # A pair the profile serves already is refused, and nothing of the request is added.
    with aws_error("InvalidParameterException", 400, message_contains=support):
        connect1.associate_routing_profile_queues(
            InstanceId=instance_id, RoutingProfileId=profile_id,
            QueueConfigs=[chat_queue(support, channel="TASK"), chat_queue(support, priority=9)])
    assert served() == {(basic_queue["Id"], "CHAT"): (1, 0), (support, "CHAT"): (5, 60)}
    with aws_error("InvalidParameterException", 400):
        connect1.associate_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=profile_id)
    with aws_error("ResourceNotFoundException", 404):
        connect1.associate_routing_profile_queues(InstanceId=instance_id, RoutingProfileId="no-such-profile",
                                                  QueueConfigs=[chat_queue(support)])
    with aws_error("ResourceNotFoundException", 404):
        connect1.associate_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=profile_id,
                                                  QueueConfigs=[chat_queue("no-such-queue")])

    assert strip_meta(connect.update_routing_profile_queues(
        InstanceId=instance_id, RoutingProfileId=profile_id,
        QueueConfigs=[chat_queue(support, priority=1, delay=0), chat_queue(basic_queue["Id"], priority=2, delay=15)]
    )) == {}
    assert served() == {(basic_queue["Id"], "CHAT"): (2, 15), (support, "CHAT"): (1, 0)}
    with aws_error("InvalidParameterException", 400, message_contains="associate"):
        connect1.update_routing_profile_queues(
            InstanceId=instance_id, RoutingProfileId=profile_id,
            QueueConfigs=[chat_queue(support, priority=7), chat_queue(support, channel="TASK")])
    assert served() == {(basic_queue["Id"], "CHAT"): (2, 15), (support, "CHAT"): (1, 0)}, "nothing changed"
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_routing_profile_queues(InstanceId=instance_id, RoutingProfileId="no-such-profile",
                                               QueueConfigs=[chat_queue(support)])


def test_update_routing_profile_concurrency(connect, connect1, connect_raw, instance_id, basic_queue):
    profile_id = new_profile(connect, instance_id, basic_queue["Id"])
    assert strip_meta(connect.update_routing_profile_concurrency(
        InstanceId=instance_id, RoutingProfileId=profile_id,
        MediaConcurrencies=[{"Channel": "CHAT", "Concurrency": 10}, {"Channel": "TASK", "Concurrency": 1}])) == {}
    profile = connect.describe_routing_profile(InstanceId=instance_id, RoutingProfileId=profile_id)["RoutingProfile"]
    assert profile["MediaConcurrencies"] == [{"Channel": "CHAT", "Concurrency": 10},
                                             {"Channel": "TASK", "Concurrency": 1}]
    for bad in ([{"Channel": "CHAT", "Concurrency": 11}], [{"Channel": "CHAT", "Concurrency": 0}],
                [{"Channel": "CHAT", "Concurrency": 1}, {"Channel": "CHAT", "Concurrency": 2}]):
        with aws_error("InvalidParameterException", 400):
            connect_raw.update_routing_profile_concurrency(InstanceId=instance_id, RoutingProfileId=profile_id,
                                                           MediaConcurrencies=bad)
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_routing_profile_concurrency(InstanceId=instance_id, RoutingProfileId="no-such-profile",
                                                    MediaConcurrencies=[{"Channel": "CHAT", "Concurrency": 1}])


def test_list_routing_profile_queues_pages(connect, connect_raw, instance_id, basic_hours):
    queues = [new_queue(connect, instance_id, basic_hours["Id"]) for _ in range(3)]
    profile_id = new_profile(connect, instance_id, queues[0],
                             QueueConfigs=[chat_queue(q, priority=n + 1) for n, q in enumerate(queues)])
    listed = pages(connect.list_routing_profile_queues, "RoutingProfileQueueConfigSummaryList",
                   InstanceId=instance_id, RoutingProfileId=profile_id, MaxResults=1)
    assert [q["QueueId"] for q in listed] == queues
    with aws_error("InvalidParameterException", 400):
        connect_raw.list_routing_profile_queues(InstanceId=instance_id, RoutingProfileId=profile_id, MaxResults=101)
    with aws_error("ResourceNotFoundException", 404):
        connect_raw.list_routing_profile_queues(InstanceId=instance_id, RoutingProfileId="no-such-profile")


# --------------------------------------------------------------------------------------------
# Queues
# --------------------------------------------------------------------------------------------


def test_create_describe_and_list_a_queue(connect, instance_id, instance_arn, basic_hours):
    name = unique("Billing")
    created = connect.create_queue(InstanceId=instance_id, Name=name, Description="billing questions",
                                   HoursOfOperationId=basic_hours["Arn"], MaxContacts=25,
                                   OutboundCallerConfig={"OutboundCallerIdName": "Billing"}, Tags={"dept": "billing"})
    assert set(strip_meta(created)) == {"QueueArn", "QueueId"}
    queue_id = created["QueueId"]
    assert created["QueueArn"] == f"{instance_arn}/queue/{queue_id}"
    queue = connect.describe_queue(InstanceId=instance_id, QueueId=created["QueueArn"])["Queue"]
    assert queue == {**queue, "Name": name, "QueueId": queue_id, "QueueArn": created["QueueArn"],
                     "Description": "billing questions", "HoursOfOperationId": basic_hours["Id"],
                     "MaxContacts": 25, "OutboundCallerConfig": {"OutboundCallerIdName": "Billing"},
                     "Status": "ENABLED", "Tags": {"dept": "billing"}, "LastModifiedRegion": "us-east-1"}
    assert_recent(queue["LastModifiedTime"])

    standard = pages(connect.list_queues, "QueueSummaryList", InstanceId=instance_id, QueueTypes=["STANDARD"])
    mine = next(q for q in standard if q["Id"] == queue_id)
    assert mine["Name"] == name and mine["QueueType"] == "STANDARD" and mine["Arn"] == created["QueueArn"]
    agent_queues = pages(connect.list_queues, "QueueSummaryList", InstanceId=instance_id, QueueTypes=["AGENT"])
    assert all(q["QueueType"] == "AGENT" for q in agent_queues)
    assert queue_id not in {q["Id"] for q in agent_queues}


def test_create_queue_errors(connect, connect1, connect_raw, instance_id, basic_hours):
    name = unique("Twice")
    new_queue(connect, instance_id, basic_hours["Id"], name=name)
    with aws_error("DuplicateResourceException", 409, message_contains=name):
        new_queue(connect1, instance_id, basic_hours["Id"], name=name)
    with aws_error("ResourceNotFoundException", 404, message_contains="no-such-hours"):
        new_queue(connect1, instance_id, "no-such-hours")
    with aws_error("InvalidParameterException", 400, message_contains="hoursOfOperationId"):
        connect_raw.create_queue(InstanceId=instance_id, Name=unique("No hours"))
    with aws_error("InvalidParameterException", 400):
        connect_raw.create_queue(InstanceId=instance_id, Name=unique("Negative"), HoursOfOperationId=basic_hours["Id"],
                                 MaxContacts=-1)
    with aws_error("InvalidParameterException", 400):
        connect_raw.create_queue(InstanceId=instance_id, Name="", HoursOfOperationId=basic_hours["Id"])
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_queue(InstanceId=instance_id, QueueId="no-such-queue")


def test_update_queue_status(connect, connect1, connect_raw, instance_id, basic_hours):
    queue_id = new_queue(connect, instance_id, basic_hours["Id"])
    assert strip_meta(connect.update_queue_status(InstanceId=instance_id, QueueId=queue_id, Status="DISABLED")) == {}
    assert connect.describe_queue(InstanceId=instance_id, QueueId=queue_id)["Queue"]["Status"] == "DISABLED"
    connect.update_queue_status(InstanceId=instance_id, QueueId=queue_id, Status="ENABLED")
    assert connect.describe_queue(InstanceId=instance_id, QueueId=queue_id)["Queue"]["Status"] == "ENABLED"
    with aws_error("InvalidParameterException", 400, message_contains="ENABLED, DISABLED"):
        connect_raw.update_queue_status(InstanceId=instance_id, QueueId=queue_id, Status="PAUSED")
    with aws_error("ResourceNotFoundException", 404):
        connect1.update_queue_status(InstanceId=instance_id, QueueId="no-such-queue", Status="DISABLED")


def test_list_queues_pages(connect, connect_raw, instance_id, basic_hours):
    created = {new_queue(connect, instance_id, basic_hours["Id"]) for _ in range(3)}
    listed = pages(connect.list_queues, "QueueSummaryList", InstanceId=instance_id, MaxResults=2)
    ids = [q["Id"] for q in listed]
    assert len(ids) == len(set(ids)) and created <= set(ids)
    assert [q["Name"] for q in listed] == sorted(q["Name"] for q in listed)
    with aws_error("InvalidParameterException", 400):
        connect_raw.list_queues(InstanceId=instance_id, QueueTypes=["VIP"])


# --------------------------------------------------------------------------------------------
# Hours of operation
# --------------------------------------------------------------------------------------------


def test_create_describe_and_list_hours(connect, connect1, instance_id, instance_arn):
    name = unique("Office")
    config = [{"Day": day, "StartTime": {"Hours": 9, "Minutes": 0}, "EndTime": {"Hours": 17, "Minutes": 30}}
              for day in DAYS[1:6]]
    created = connect.create_hours_of_operation(InstanceId=instance_id, Name=name, Description="weekdays",
                                                TimeZone="Europe/Lisbon", Config=config, Tags={"site": "lisbon"})
    assert set(strip_meta(created)) == {"HoursOfOperationId", "HoursOfOperationArn"}
    hours_id = created["HoursOfOperationId"]
    assert created["HoursOfOperationArn"] == f"{instance_arn}/operating-hours/{hours_id}"
    hours = connect.describe_hours_of_operation(InstanceId=instance_id, HoursOfOperationId=hours_id)["HoursOfOperation"]
    assert hours["Name"] == name and hours["Description"] == "weekdays" and hours["TimeZone"] == "Europe/Lisbon"
    assert hours["Config"] == config and hours["Tags"] == {"site": "lisbon"}
    assert hours["HoursOfOperationArn"] == created["HoursOfOperationArn"]
    listed = pages(connect.list_hours_of_operations, "HoursOfOperationSummaryList", InstanceId=instance_id,
                   MaxResults=1)
    assert name in {h["Name"] for h in listed} and "Basic Hours" in {h["Name"] for h in listed}

    with aws_error("DuplicateResourceException", 409, message_contains=name):
        connect1.create_hours_of_operation(InstanceId=instance_id, Name=name, TimeZone="UTC", Config=config)
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_hours_of_operation(InstanceId=instance_id, HoursOfOperationId="no-such-hours")


@pytest.mark.parametrize("slot", [
    {"Day": "MONDAY", "StartTime": {"Hours": 24, "Minutes": 0}, "EndTime": {"Hours": 17, "Minutes": 0}},
    {"Day": "MONDAY", "StartTime": {"Hours": 9, "Minutes": 60}, "EndTime": {"Hours": 17, "Minutes": 0}},
    {"Day": "MONDAY", "StartTime": {"Hours": -1, "Minutes": 0}, "EndTime": {"Hours": 17, "Minutes": 0}},
    {"Day": "FUNDAY", "StartTime": {"Hours": 9, "Minutes": 0}, "EndTime": {"Hours": 17, "Minutes": 0}},
    {"Day": "MONDAY", "StartTime": {"Hours": 9, "Minutes": 0}},
])
def test_hours_ranges(connect_raw, instance_id, slot):
    with aws_error("InvalidParameterException", 400):
        connect_raw.create_hours_of_operation(InstanceId=instance_id, Name=unique("Bad"), TimeZone="UTC",
                                              Config=[slot])


# --------------------------------------------------------------------------------------------
# Agent statuses
# --------------------------------------------------------------------------------------------


def test_create_describe_and_list_agent_statuses(connect, connect1, connect_raw, instance_id, instance_arn):
    name = unique("Lunch")
    created = connect.create_agent_status(InstanceId=instance_id, Name=name, Description="out to lunch",
                                          State="ENABLED", DisplayOrder=3, Tags={"kind": "break"})
    assert set(strip_meta(created)) == {"AgentStatusARN", "AgentStatusId"}
    status_id = created["AgentStatusId"]
    assert created["AgentStatusARN"] == f"{instance_arn}/agent-state/{status_id}"
    status = connect.describe_agent_status(InstanceId=instance_id, AgentStatusId=status_id)["AgentStatus"]
    assert (status["Name"], status["Description"], status["Type"], status["State"], status["DisplayOrder"]) == \
        (name, "out to lunch", "CUSTOM", "ENABLED", 3)
    assert status["Tags"] == {"kind": "break"} and status["AgentStatusARN"] == created["AgentStatusARN"]

    custom = pages(connect.list_agent_statuses, "AgentStatusSummaryList", InstanceId=instance_id,
                   AgentStatusTypes=["CUSTOM"])
    assert status_id in {s["Id"] for s in custom} and {s["Type"] for s in custom} == {"CUSTOM"}
    routable = connect.list_agent_statuses(InstanceId=instance_id, AgentStatusTypes=["ROUTABLE"])
    assert [s["Name"] for s in routable["AgentStatusSummaryList"]] == ["Available"]
    everything = pages(connect.list_agent_statuses, "AgentStatusSummaryList", InstanceId=instance_id, MaxResults=1)
    assert {"Available", "Offline", name} <= {s["Name"] for s in everything}

    with aws_error("DuplicateResourceException", 409, message_contains=name):
        connect1.create_agent_status(InstanceId=instance_id, Name=name, State="ENABLED")
    with aws_error("DuplicateResourceException", 409):
        connect1.create_agent_status(InstanceId=instance_id, Name="Available", State="ENABLED")
    for bad in ({"DisplayOrder": 51}, {"DisplayOrder": 0}, {"State": "ASLEEP"}):
        with aws_error("InvalidParameterException", 400):
            connect_raw.create_agent_status(**{"InstanceId": instance_id, "Name": unique("Bad"), "State": "ENABLED",
                                               **bad})
    with aws_error("InvalidParameterException", 400):
        connect_raw.list_agent_statuses(InstanceId=instance_id, AgentStatusTypes=["SLEEPY"])
    with aws_error("ResourceNotFoundException", 404):
        connect1.describe_agent_status(InstanceId=instance_id, AgentStatusId="no-such-status")


# --------------------------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------------------------


def test_everything_survives_a_crash(server, connect, instance_id, basic_hours, basic_queue, basic_profile,
                                     security_profiles, statuses):
    hours_id = connect.create_hours_of_operation(InstanceId=instance_id, Name=unique("Durable"), TimeZone="UTC",
                                                 Config=[])["HoursOfOperationId"]
    queue_id = new_queue(connect, instance_id, hours_id)
    profile_id = new_profile(connect, instance_id, queue_id, QueueConfigs=[chat_queue(queue_id, priority=4)])
    user_id = new_user(connect, instance_id, profile_id, [security_profiles["Admin"]["Id"]],
                       IdentityInfo={"FirstName": "Durable"})["UserId"]
    connect.put_user_status(InstanceId=instance_id, UserId=user_id, AgentStatusId=statuses["Available"]["Id"])
    status_id = connect.create_agent_status(InstanceId=instance_id, Name=unique("Durable"),
                                            State="ENABLED")["AgentStatusId"]
    before = {
        "user": connect.describe_user(InstanceId=instance_id, UserId=user_id)["User"],
        "profile": connect.describe_routing_profile(InstanceId=instance_id, RoutingProfileId=profile_id),
        "queue": connect.describe_queue(InstanceId=instance_id, QueueId=queue_id)["Queue"],
        "hours": connect.describe_hours_of_operation(InstanceId=instance_id, HoursOfOperationId=hours_id),
        "status": connect.describe_agent_status(InstanceId=instance_id, AgentStatusId=status_id)["AgentStatus"],
    }
    server.restart_after_crash()  # SIGKILL, then start again on the same data
    after = {
        "user": connect.describe_user(InstanceId=instance_id, UserId=user_id)["User"],
        "profile": connect.describe_routing_profile(InstanceId=instance_id, RoutingProfileId=profile_id),
        "queue": connect.describe_queue(InstanceId=instance_id, QueueId=queue_id)["Queue"],
        "hours": connect.describe_hours_of_operation(InstanceId=instance_id, HoursOfOperationId=hours_id),
        "status": connect.describe_agent_status(InstanceId=instance_id, AgentStatusId=status_id)["AgentStatus"],
    }
    assert {k: strip_meta(v) for k, v in after.items()} == {k: strip_meta(v) for k, v in before.items()}
    # The defaults are seeded once, not again on every start.
    names = [h["Name"] for h in connect.list_hours_of_operations(InstanceId=instance_id)["HoursOfOperationSummaryList"]]
    assert names.count("Basic Hours") == 1
    profiles = connect.list_routing_profiles(InstanceId=instance_id)["RoutingProfileSummaryList"]
    assert [p["Name"] for p in profiles].count("Basic Routing Profile") == 1
    assert [s["Name"] for s in connect.list_agent_statuses(InstanceId=instance_id)["AgentStatusSummaryList"]].count(
        "Available") == 1
