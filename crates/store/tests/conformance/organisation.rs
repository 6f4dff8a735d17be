//! Conformance checks of the organisation: hours of operation, queues, routing profiles,
//! security profiles, agent statuses and users. Part of the suite in `conformance.rs`.

use super::{T0, fresh, new_instance};
use liaison_core::organisation::{
    AgentStatus, CrossChannelBehavior, DayHours, HoursOfOperation, IdentityInfo, MediaConcurrency,
    OutboundCallerConfig, PhoneConfig, Queue, RoutingProfile, RoutingProfileQueue, SecurityProfile,
    Tags, TimeSlice, User, UserStatus,
};
use liaison_store::{QueueChange, Store};
use std::sync::Arc;

/// Runs every organisation check against `store`.
pub async fn checks(store: &Arc<dyn Store>) {
    let s: &dyn Store = &**store;
    hours_of_operation_have_unique_names_per_instance(s).await;
    queues_keep_their_hours_status_and_details(s).await;
    queues_without_hours_get_the_default_ones(s).await;
    routing_profiles_are_written_with_their_queues_at_once(s).await;
    routing_profile_queues_are_added_and_updated_all_or_nothing(s).await;
    routing_profile_concurrency_is_replaced(s).await;
    concurrent_creates_of_one_routing_profile_write_once(store).await;
    security_profiles_are_listed_by_name(s).await;
    agent_statuses_are_listed_in_display_order(s).await;
    users_round_trip_and_usernames_are_unique_per_instance(s).await;
    users_are_updated_and_deleted_in_their_instance_only(s).await;
    concurrent_creates_of_one_username_write_once(store).await;
    passwords_are_verified_against_the_stored_hash(s).await;
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn day(name: &str, start: (i64, i64), end: (i64, i64)) -> DayHours {
    DayHours {
        day: name.into(),
        start_time: TimeSlice {
            hours: start.0,
            minutes: start.1,
        },
        end_time: TimeSlice {
            hours: end.0,
            minutes: end.1,
        },
    }
}

fn new_hours(instance_id: &str, name: &str) -> HoursOfOperation {
    HoursOfOperation {
        id: fresh(),
        instance_id: instance_id.into(),
        name: name.into(),
        description: Some("office hours".into()),
        time_zone: "Europe/Paris".into(),
        config: vec![
            day("MONDAY", (9, 0), (17, 30)),
            day("TUESDAY", (9, 0), (17, 30)),
        ],
        tags: tags(&[("team", "support")]),
        modified_ms: T0,
    }
}

/// A standard queue with only the required details.
pub fn standard_queue(
    instance_id: &str,
    id: &str,
    name: &str,
    description: Option<&str>,
    at_ms: i64,
) -> Queue {
    Queue {
        id: id.into(),
        instance_id: instance_id.into(),
        name: name.into(),
        description: description.map(str::to_string),
        queue_type: "STANDARD".into(),
        hours_of_operation_id: None,
        max_contacts: None,
        status: "ENABLED".into(),
        outbound_caller_config: None,
        tags: Tags::new(),
        modified_ms: at_ms,
    }
}

/// Hours and a queue on them, stored.
async fn hours_and_queue(store: &dyn Store, instance_id: &str, name: &str) -> (String, Queue) {
    let hours = new_hours(instance_id, &format!("{name} hours"));
    assert!(store.create_hours_of_operation(&hours).await.unwrap());
    let queue = Queue {
        hours_of_operation_id: Some(hours.id.clone()),
        ..standard_queue(instance_id, &fresh(), name, Some("a queue"), T0)
    };
    assert!(store.create_queue(&queue).await.unwrap());
    (hours.id, queue)
}

fn chat_concurrency(concurrency: i64) -> MediaConcurrency {
    MediaConcurrency {
        channel: "CHAT".into(),
        concurrency,
        cross_channel_behavior: None,
    }
}

fn served(queue_id: &str, channel: &str, priority: i64, delay: i64) -> RoutingProfileQueue {
    RoutingProfileQueue {
        queue_id: queue_id.into(),
        channel: channel.into(),
        priority,
        delay,
    }
}

fn new_profile(instance_id: &str, name: &str, default_queue: &str) -> RoutingProfile {
    RoutingProfile {
        id: fresh(),
        instance_id: instance_id.into(),
        name: name.into(),
        description: "chat agents".into(),
        default_outbound_queue_id: default_queue.into(),
        media_concurrencies: vec![chat_concurrency(2)],
        agent_availability_timer: None,
        is_default: false,
        tags: Tags::new(),
        modified_ms: T0,
    }
}

/// A stored routing profile serving `queue` on CHAT, and that queue.
async fn profile_and_queue(store: &dyn Store, instance_id: &str) -> (RoutingProfile, Queue) {
    let (_, queue) = hours_and_queue(store, instance_id, "Sales").await;
    let profile = new_profile(instance_id, "Sales agents", &queue.id);
    assert!(
        store
            .create_routing_profile(&profile, &[served(&queue.id, "CHAT", 1, 0)])
            .await
            .unwrap()
    );
    (profile, queue)
}

fn new_user(instance_id: &str, username: &str, routing_profile_id: &str) -> User {
    User {
        id: fresh(),
        instance_id: instance_id.into(),
        username: username.into(),
        identity_info: IdentityInfo {
            first_name: Some("Ana".into()),
            last_name: Some("Lima".into()),
            email: Some("ana@example.com".into()),
            ..IdentityInfo::default()
        },
        phone_config: Some(PhoneConfig {
            phone_type: Some("SOFT_PHONE".into()),
            auto_accept: Some(true),
            after_contact_work_time_limit: Some(30),
            ..PhoneConfig::default()
        }),
        security_profile_ids: vec![fresh(), fresh()],
        routing_profile_id: routing_profile_id.into(),
        tags: tags(&[("site", "lisbon")]),
        modified_ms: T0,
        status: None,
    }
}

fn new_status(instance_id: &str, name: &str, status_type: &str, order: Option<i64>) -> AgentStatus {
    AgentStatus {
        id: fresh(),
        instance_id: instance_id.into(),
        name: name.into(),
        description: None,
        status_type: status_type.into(),
        state: "ENABLED".into(),
        display_order: order,
        tags: Tags::new(),
        modified_ms: T0,
    }
}

async fn hours_of_operation_have_unique_names_per_instance(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let office = new_hours(&one.id, "Office");
    let always = HoursOfOperation {
        description: None,
        config: Vec::new(),
        tags: Tags::new(),
        ..new_hours(&one.id, "Always")
    };
    assert!(store.create_hours_of_operation(&office).await.unwrap());
    assert!(store.create_hours_of_operation(&always).await.unwrap());
    let taken = new_hours(&one.id, "Office");
    assert!(
        !store.create_hours_of_operation(&taken).await.unwrap(),
        "names are unique per instance"
    );
    assert_eq!(
        store
            .get_hours_of_operation(&one.id, &taken.id)
            .await
            .unwrap(),
        None
    );
    let elsewhere = new_hours(&two.id, "Office");
    assert!(store.create_hours_of_operation(&elsewhere).await.unwrap());

    assert_eq!(
        store
            .get_hours_of_operation(&one.id, &office.id)
            .await
            .unwrap(),
        Some(office.clone())
    );
    assert_eq!(
        store
            .get_hours_of_operation(&two.id, &office.id)
            .await
            .unwrap(),
        None,
        "scoped to its instance"
    );
    assert_eq!(
        store.list_hours_of_operations(&one.id).await.unwrap(),
        vec![always, office]
    );
    assert_eq!(
        store.list_hours_of_operations(&two.id).await.unwrap(),
        vec![elsewhere]
    );
}

async fn queues_keep_their_hours_status_and_details(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let hours = new_hours(&one.id, "Office");
    assert!(store.create_hours_of_operation(&hours).await.unwrap());
    let support = Queue {
        hours_of_operation_id: Some(hours.id.clone()),
        max_contacts: Some(50),
        outbound_caller_config: Some(OutboundCallerConfig {
            outbound_caller_id_name: Some("Support".into()),
            ..OutboundCallerConfig::default()
        }),
        tags: tags(&[("tier", "1")]),
        ..standard_queue(&one.id, &fresh(), "Support", Some("help desk"), T0)
    };
    let basic = Queue {
        hours_of_operation_id: Some(hours.id.clone()),
        ..standard_queue(&one.id, &fresh(), "BasicQueue", None, T0 + 1)
    };
    assert!(store.create_queue(&support).await.unwrap());
    assert!(store.create_queue(&basic).await.unwrap());
    assert!(
        !store
            .create_queue(&standard_queue(&one.id, &fresh(), "Support", None, T0))
            .await
            .unwrap(),
        "names are unique per instance"
    );
    let sales = standard_queue(&two.id, &fresh(), "Support", None, T0);
    assert!(store.create_queue(&sales).await.unwrap());

    assert_eq!(
        store.get_queue(&one.id, &support.id).await.unwrap(),
        Some(support.clone())
    );
    assert_eq!(
        store.get_queue(&one.id, &basic.id).await.unwrap(),
        Some(basic.clone()),
        "no description stays none"
    );
    assert_eq!(store.get_queue(&two.id, &support.id).await.unwrap(), None);
    assert_eq!(
        store.list_queue_details(&one.id).await.unwrap(),
        vec![basic.clone(), support.clone()]
    );
    assert_eq!(
        store.list_queues(&one.id).await.unwrap(),
        vec![
            (basic.id.clone(), basic.name.clone()),
            (support.id.clone(), support.name.clone())
        ],
        "flows see the same queues"
    );

    assert!(
        store
            .set_queue_status(&one.id, &support.id, "DISABLED", T0 + 5)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_queue(&one.id, &support.id).await.unwrap(),
        Some(Queue {
            status: "DISABLED".into(),
            modified_ms: T0 + 5,
            ..support.clone()
        })
    );
    assert!(
        !store
            .set_queue_status(&two.id, &support.id, "ENABLED", T0 + 6)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_queue_status(&one.id, &fresh(), "ENABLED", T0 + 6)
            .await
            .unwrap()
    );
}

async fn queues_without_hours_get_the_default_ones(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let old = standard_queue(
        &one.id,
        &fresh(),
        "BasicQueue",
        Some("from before hours"),
        T0,
    );
    let other = standard_queue(&two.id, &fresh(), "BasicQueue", None, T0);
    assert!(store.create_queue(&old).await.unwrap());
    assert!(store.create_queue(&other).await.unwrap());
    let (scheduled_hours, scheduled) = hours_and_queue(store, &one.id, "Scheduled").await;
    let basic = new_hours(&one.id, "Basic Hours");
    assert!(store.create_hours_of_operation(&basic).await.unwrap());

    assert_eq!(
        store
            .set_missing_queue_hours(&one.id, &basic.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .get_queue(&one.id, &old.id)
            .await
            .unwrap()
            .and_then(|q| q.hours_of_operation_id),
        Some(basic.id.clone())
    );
    assert_eq!(
        store
            .get_queue(&one.id, &scheduled.id)
            .await
            .unwrap()
            .and_then(|q| q.hours_of_operation_id),
        Some(scheduled_hours),
        "queues with hours keep theirs"
    );
    assert_eq!(
        store.get_queue(&two.id, &other.id).await.unwrap(),
        Some(other),
        "other instances are left alone"
    );
    assert_eq!(
        store
            .set_missing_queue_hours(&one.id, &basic.id)
            .await
            .unwrap(),
        0
    );
}

async fn routing_profiles_are_written_with_their_queues_at_once(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (_, sales) = hours_and_queue(store, &one.id, "Sales").await;
    let (_, support) = hours_and_queue(store, &one.id, "Support").await;
    let profile = RoutingProfile {
        media_concurrencies: vec![MediaConcurrency {
            cross_channel_behavior: Some(CrossChannelBehavior {
                behavior_type: "ROUTE_CURRENT_CHANNEL_ONLY".into(),
            }),
            ..chat_concurrency(3)
        }],
        agent_availability_timer: Some("TIME_SINCE_LAST_INBOUND".into()),
        is_default: true,
        tags: tags(&[("desk", "b")]),
        ..new_profile(&one.id, "Front desk", &sales.id)
    };
    let queues = [
        served(&support.id, "CHAT", 2, 30),
        served(&sales.id, "CHAT", 1, 0),
        served(&sales.id, "TASK", 1, 5),
    ];
    assert!(
        store
            .create_routing_profile(&profile, &queues)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_routing_profile(&one.id, &profile.id)
            .await
            .unwrap(),
        Some(profile.clone())
    );
    assert_eq!(
        store
            .routing_profile_queues(&one.id, &profile.id)
            .await
            .unwrap(),
        vec![queues[1].clone(), queues[2].clone(), queues[0].clone()],
        "by priority, then delay"
    );

    let taken = new_profile(&one.id, "Front desk", &sales.id);
    assert!(
        !store
            .create_routing_profile(&taken, &[served(&sales.id, "CHAT", 1, 0)])
            .await
            .unwrap(),
        "names are unique per instance"
    );
    assert_eq!(
        store.get_routing_profile(&one.id, &taken.id).await.unwrap(),
        None
    );
    assert!(
        store
            .routing_profile_queues(&one.id, &taken.id)
            .await
            .unwrap()
            .is_empty(),
        "a refused profile writes none of its queues"
    );

    let (_, elsewhere_queue) = hours_and_queue(store, &two.id, "Sales").await;
    let elsewhere = new_profile(&two.id, "Front desk", &elsewhere_queue.id);
    assert!(store.create_routing_profile(&elsewhere, &[]).await.unwrap());
    assert_eq!(
        store
            .get_routing_profile(&two.id, &profile.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .routing_profile_queues(&two.id, &profile.id)
            .await
            .unwrap()
            .is_empty(),
        "scoped to its instance"
    );
    let basic = new_profile(&one.id, "Basic", &sales.id);
    assert!(store.create_routing_profile(&basic, &[]).await.unwrap());
    assert_eq!(
        store.list_routing_profiles(&one.id).await.unwrap(),
        vec![basic, profile]
    );
    assert_eq!(
        store.list_routing_profiles(&two.id).await.unwrap(),
        vec![elsewhere]
    );
}

async fn routing_profile_queues_are_added_and_updated_all_or_nothing(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (profile, sales) = profile_and_queue(store, &one.id).await;
    let (_, support) = hours_and_queue(store, &one.id, "Support").await;

    assert_eq!(
        store
            .associate_routing_profile_queues(
                &one.id,
                &profile.id,
                &[served(&support.id, "CHAT", 2, 10)],
                T0 + 1
            )
            .await
            .unwrap(),
        QueueChange::Applied
    );
    assert_eq!(
        store
            .associate_routing_profile_queues(
                &one.id,
                &profile.id,
                &[
                    served(&support.id, "TASK", 3, 0),
                    served(&sales.id, "CHAT", 5, 5)
                ],
                T0 + 2
            )
            .await
            .unwrap(),
        QueueChange::Refused {
            queue_id: sales.id.clone(),
            channel: "CHAT".into()
        },
        "a pair the profile serves already"
    );
    let expected = vec![
        served(&sales.id, "CHAT", 1, 0),
        served(&support.id, "CHAT", 2, 10),
    ];
    assert_eq!(
        store
            .routing_profile_queues(&one.id, &profile.id)
            .await
            .unwrap(),
        expected,
        "a refused change writes nothing"
    );
    assert_eq!(
        store
            .get_routing_profile(&one.id, &profile.id)
            .await
            .unwrap()
            .map(|p| p.modified_ms),
        Some(T0 + 1)
    );

    assert_eq!(
        store
            .update_routing_profile_queues(
                &one.id,
                &profile.id,
                &[
                    served(&support.id, "CHAT", 1, 0),
                    served(&sales.id, "CHAT", 9, 120)
                ],
                T0 + 3
            )
            .await
            .unwrap(),
        QueueChange::Applied
    );
    let updated = vec![
        served(&support.id, "CHAT", 1, 0),
        served(&sales.id, "CHAT", 9, 120),
    ];
    assert_eq!(
        store
            .routing_profile_queues(&one.id, &profile.id)
            .await
            .unwrap(),
        updated
    );
    assert_eq!(
        store
            .update_routing_profile_queues(
                &one.id,
                &profile.id,
                &[
                    served(&support.id, "CHAT", 50, 50),
                    served(&support.id, "TASK", 1, 0)
                ],
                T0 + 4
            )
            .await
            .unwrap(),
        QueueChange::Refused {
            queue_id: support.id.clone(),
            channel: "TASK".into()
        },
        "a pair the profile does not serve"
    );
    assert_eq!(
        store
            .routing_profile_queues(&one.id, &profile.id)
            .await
            .unwrap(),
        updated,
        "a refused update writes nothing"
    );
    assert_eq!(
        store
            .get_routing_profile(&one.id, &profile.id)
            .await
            .unwrap()
            .map(|p| p.modified_ms),
        Some(T0 + 3)
    );

    for change in [
        store
            .associate_routing_profile_queues(&two.id, &profile.id, &[], T0 + 5)
            .await
            .unwrap(),
        store
            .update_routing_profile_queues(&one.id, &fresh(), &[], T0 + 5)
            .await
            .unwrap(),
    ] {
        assert_eq!(change, QueueChange::NoSuchProfile);
    }
}

async fn routing_profile_concurrency_is_replaced(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (profile, _) = profile_and_queue(store, &one.id).await;
    let concurrencies = vec![
        chat_concurrency(10),
        MediaConcurrency {
            channel: "TASK".into(),
            concurrency: 1,
            cross_channel_behavior: Some(CrossChannelBehavior {
                behavior_type: "ROUTE_ANY_CHANNEL".into(),
            }),
        },
    ];
    assert!(
        store
            .set_routing_profile_concurrency(&one.id, &profile.id, &concurrencies, T0 + 7)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_routing_profile(&one.id, &profile.id)
            .await
            .unwrap(),
        Some(RoutingProfile {
            media_concurrencies: concurrencies.clone(),
            modified_ms: T0 + 7,
            ..profile.clone()
        })
    );
    assert!(
        !store
            .set_routing_profile_concurrency(&two.id, &profile.id, &concurrencies, T0 + 8)
            .await
            .unwrap()
    );
}

async fn concurrent_creates_of_one_routing_profile_write_once(store: &Arc<dyn Store>) {
    let instance = new_instance(&**store).await;
    let (_, queue) = hours_and_queue(&**store, &instance.id, "BasicQueue").await;
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let store = Arc::clone(store);
            let profile = new_profile(&instance.id, "Basic Routing Profile", &queue.id);
            let queues = vec![served(&queue.id, "CHAT", 1, 0)];
            tokio::spawn(async move {
                let created = store
                    .create_routing_profile(&profile, &queues)
                    .await
                    .unwrap();
                (created, profile.id)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (created, id) = attempt.await.unwrap();
        if created {
            winners.push(id);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one node creates it");
    let profiles = store.list_routing_profiles(&instance.id).await.unwrap();
    assert_eq!(
        profiles.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&winners[0]]
    );
    assert_eq!(
        store
            .routing_profile_queues(&instance.id, &winners[0])
            .await
            .unwrap(),
        vec![served(&queue.id, "CHAT", 1, 0)]
    );
}

async fn security_profiles_are_listed_by_name(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let profile = |instance_id: &str, name: &str, description: Option<&str>| SecurityProfile {
        id: fresh(),
        instance_id: instance_id.into(),
        name: name.into(),
        description: description.map(str::to_string),
        modified_ms: T0,
    };
    let agent = profile(&one.id, "Agent", Some("Handles contacts"));
    let admin = profile(&one.id, "Admin", None);
    let elsewhere = profile(&two.id, "Agent", None);
    assert!(store.create_security_profile(&agent).await.unwrap());
    assert!(store.create_security_profile(&admin).await.unwrap());
    assert!(store.create_security_profile(&elsewhere).await.unwrap());
    assert!(
        !store
            .create_security_profile(&profile(&one.id, "Agent", None))
            .await
            .unwrap(),
        "names are unique per instance"
    );
    assert_eq!(
        store.list_security_profiles(&one.id).await.unwrap(),
        vec![admin, agent]
    );
    assert_eq!(
        store.list_security_profiles(&two.id).await.unwrap(),
        vec![elsewhere]
    );
}

async fn agent_statuses_are_listed_in_display_order(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let available = new_status(&one.id, "Available", "ROUTABLE", Some(1));
    let offline = AgentStatus {
        description: Some("Not taking contacts".into()),
        tags: tags(&[("kind", "system")]),
        ..new_status(&one.id, "Offline", "OFFLINE", Some(2))
    };
    let lunch = AgentStatus {
        state: "DISABLED".into(),
        ..new_status(&one.id, "Lunch", "CUSTOM", None)
    };
    let break_ = new_status(&one.id, "Break", "CUSTOM", None);
    for status in [&lunch, &offline, &break_, &available] {
        assert!(store.create_agent_status(status).await.unwrap());
    }
    assert!(
        !store
            .create_agent_status(&new_status(&one.id, "Lunch", "CUSTOM", Some(3)))
            .await
            .unwrap(),
        "names are unique per instance"
    );
    let elsewhere = new_status(&two.id, "Available", "ROUTABLE", Some(1));
    assert!(store.create_agent_status(&elsewhere).await.unwrap());

    assert_eq!(
        store.list_agent_statuses(&one.id).await.unwrap(),
        vec![available, offline.clone(), break_, lunch],
        "display order first, then statuses without one by name"
    );
    assert_eq!(
        store.get_agent_status(&one.id, &offline.id).await.unwrap(),
        Some(offline.clone())
    );
    assert_eq!(
        store.get_agent_status(&two.id, &offline.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_agent_statuses(&two.id).await.unwrap(),
        vec![elsewhere]
    );
}

async fn users_round_trip_and_usernames_are_unique_per_instance(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (profile, _) = profile_and_queue(store, &one.id).await;
    let (other_profile, _) = profile_and_queue(store, &two.id).await;
    let status = new_status(&one.id, "Available", "ROUTABLE", Some(1));
    assert!(store.create_agent_status(&status).await.unwrap());
    let zoe = new_user(&one.id, "zoe", &profile.id);
    let ana = User {
        identity_info: IdentityInfo::default(),
        phone_config: None,
        tags: Tags::new(),
        status: Some(UserStatus {
            agent_status_id: status.id.clone(),
            since_ms: T0 + 1,
        }),
        ..new_user(&one.id, "ana", &profile.id)
    };
    assert!(
        store
            .create_user(&zoe, Some("$argon2id$stand-in"))
            .await
            .unwrap()
    );
    assert!(store.create_user(&ana, None).await.unwrap());
    assert!(
        !store
            .create_user(&new_user(&one.id, "zoe", &profile.id), None)
            .await
            .unwrap(),
        "usernames are unique per instance"
    );
    let zoe_elsewhere = new_user(&two.id, "zoe", &other_profile.id);
    assert!(store.create_user(&zoe_elsewhere, None).await.unwrap());

    assert_eq!(
        store.get_user(&one.id, &zoe.id).await.unwrap(),
        Some(zoe.clone())
    );
    assert_eq!(
        store.get_user(&one.id, &ana.id).await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(store.get_user(&two.id, &zoe.id).await.unwrap(), None);
    assert_eq!(
        store.list_users(&one.id).await.unwrap(),
        vec![ana, zoe.clone()]
    );
    assert_eq!(
        store.list_users(&two.id).await.unwrap(),
        vec![zoe_elsewhere]
    );
    assert_eq!(
        store
            .count_routing_profile_users(&one.id, &profile.id)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_routing_profile_users(&two.id, &profile.id)
            .await
            .unwrap(),
        0
    );
}

async fn users_are_updated_and_deleted_in_their_instance_only(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (profile, queue) = profile_and_queue(store, &one.id).await;
    let night = new_profile(&one.id, "Night shift", &queue.id);
    assert!(store.create_routing_profile(&night, &[]).await.unwrap());
    let available = new_status(&one.id, "Available", "ROUTABLE", Some(1));
    let offline = new_status(&one.id, "Offline", "OFFLINE", Some(2));
    assert!(store.create_agent_status(&available).await.unwrap());
    assert!(store.create_agent_status(&offline).await.unwrap());
    let user = new_user(&one.id, "sam", &profile.id);
    assert!(store.create_user(&user, None).await.unwrap());

    assert!(
        store
            .set_user_routing_profile(&one.id, &user.id, &night.id, T0 + 1)
            .await
            .unwrap()
    );
    let identity = IdentityInfo {
        first_name: Some("Sam".into()),
        mobile: Some("+351912345678".into()),
        ..IdentityInfo::default()
    };
    assert!(
        store
            .set_user_identity_info(&one.id, &user.id, &identity, T0 + 2)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_user_status(&one.id, &user.id, &available.id, T0 + 3)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_user_status(&one.id, &user.id, &offline.id, T0 + 4)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_user(&one.id, &user.id).await.unwrap(),
        Some(User {
            routing_profile_id: night.id.clone(),
            identity_info: identity.clone(),
            modified_ms: T0 + 2,
            status: Some(UserStatus {
                agent_status_id: offline.id.clone(),
                since_ms: T0 + 4
            }),
            ..user.clone()
        }),
        "a status change is not a change of the user"
    );
    assert_eq!(
        store
            .count_routing_profile_users(&one.id, &profile.id)
            .await
            .unwrap(),
        0
    );

    let unknown = fresh();
    for (what, changed) in [
        (
            "routing profile elsewhere",
            store
                .set_user_routing_profile(&two.id, &user.id, &night.id, T0 + 5)
                .await
                .unwrap(),
        ),
        (
            "identity of an unknown user",
            store
                .set_user_identity_info(&one.id, &unknown, &identity, T0 + 5)
                .await
                .unwrap(),
        ),
        (
            "status elsewhere",
            store
                .set_user_status(&two.id, &user.id, &available.id, T0 + 5)
                .await
                .unwrap(),
        ),
        (
            "delete elsewhere",
            store.delete_user(&two.id, &user.id).await.unwrap(),
        ),
    ] {
        assert!(!changed, "{what}");
    }
    assert!(store.delete_user(&one.id, &user.id).await.unwrap());
    assert_eq!(store.get_user(&one.id, &user.id).await.unwrap(), None);
    assert!(!store.delete_user(&one.id, &user.id).await.unwrap());
    assert!(
        store
            .create_user(&new_user(&one.id, "sam", &profile.id), None)
            .await
            .unwrap(),
        "a deleted user's name is free again"
    );
}

async fn concurrent_creates_of_one_username_write_once(store: &Arc<dyn Store>) {
    let instance = new_instance(&**store).await;
    let (profile, _) = profile_and_queue(&**store, &instance.id).await;
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let store = Arc::clone(store);
            let user = new_user(&instance.id, "twin", &profile.id);
            tokio::spawn(async move { store.create_user(&user, None).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        if attempt.await.unwrap() {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_users(&instance.id).await.unwrap().len(), 1);
}

async fn passwords_are_verified_against_the_stored_hash(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let (profile, _) = profile_and_queue(store, &one.id).await;
    let (other_profile, _) = profile_and_queue(store, &two.id).await;
    let hash = liaison_core::password::hash("Secr3tPass").unwrap();
    let user = new_user(&one.id, "kim", &profile.id);
    assert!(store.create_user(&user, Some(&hash)).await.unwrap());
    let without_password = new_user(&one.id, "lee", &profile.id);
    assert!(store.create_user(&without_password, None).await.unwrap());
    let elsewhere = new_user(&two.id, "kim", &other_profile.id);
    assert!(store.create_user(&elsewhere, None).await.unwrap());

    assert_eq!(
        store
            .verify_user_password(&one.id, "kim", "Secr3tPass")
            .await
            .unwrap(),
        Some(user)
    );
    for (instance_id, username, password) in [
        (&one.id, "kim", "secr3tPass"),
        (&one.id, "kim", ""),
        (&one.id, "KIM", "Secr3tPass"),
        (&one.id, "nobody", "Secr3tPass"),
        (&one.id, "lee", "Secr3tPass"),
        (&two.id, "kim", "Secr3tPass"),
    ] {
        assert_eq!(
            store
                .verify_user_password(instance_id, username, password)
                .await
                .unwrap(),
            None,
            "{username} / {password:?}"
        );
    }
}
