//! Conformance checks of routing's facts: queued contacts and their offers, the contacts agents
//! accepted, routing's view of agents, leases and agent workspace sessions. Part of the suite in
//! `conformance.rs`.

use super::organisation::standard_queue;
use super::{T0, create, fresh, new_chat, new_instance};
use liaison_core::organisation::{
    AgentStatus, IdentityInfo, MediaConcurrency, RoutingProfile, Tags, User,
};
use liaison_store::{
    AgentContact, AgentContactState, AgentRouting, AgentSession, OfferClosed, QueuedContact, Store,
};
use std::sync::Arc;

/// Runs every routing check against `store`.
pub async fn checks(store: &Arc<dyn Store>) {
    let s: &dyn Store = &**store;
    contacts_are_queued_moved_and_dequeued(s).await;
    offers_open_once_and_close_each_way(s).await;
    offers_are_taken_only_while_open_and_by_their_agent(s).await;
    a_status_change_lifts_rejections_and_the_missed_state(s).await;
    agent_contacts_go_through_after_contact_work_until_cleared(s).await;
    an_after_contact_flow_makes_its_guide_due_when_the_chat_ends(s).await;
    agents_routing_counts_open_contacts_and_idle_time(s).await;
    concurrent_acceptances_and_timeouts_close_an_offer_once(store).await;
    leases_are_held_until_they_expire(s).await;
    concurrent_claims_of_a_lease_let_one_in(store).await;
    agent_sessions_expire_and_go_with_their_user(s).await;
}

const ALL_WAYS: [OfferClosed; 3] = [
    OfferClosed::Withdrawn,
    OfferClosed::Rejected,
    OfferClosed::Missed,
];

/// An instance with two queues, a routing profile, and a routable and an offline status.
struct Floor {
    instance_id: String,
    sales: String,
    support: String,
    profile_id: String,
    available: String,
    offline: String,
}

async fn floor(store: &dyn Store) -> Floor {
    let instance = new_instance(store).await;
    let sales = standard_queue(&instance.id, &fresh(), "Sales", None, T0);
    let support = standard_queue(&instance.id, &fresh(), "Support", None, T0);
    for queue in [&sales, &support] {
        assert!(store.create_queue(queue).await.unwrap());
    }
    let profile = RoutingProfile {
        id: fresh(),
        instance_id: instance.id.clone(),
        name: "Chat agents".into(),
        description: "chat agents".into(),
        default_outbound_queue_id: sales.id.clone(),
        media_concurrencies: vec![MediaConcurrency {
            channel: "CHAT".into(),
            concurrency: 2,
            cross_channel_behavior: None,
        }],
        agent_availability_timer: None,
        is_default: false,
        tags: Tags::new(),
        modified_ms: T0,
    };
    assert!(store.create_routing_profile(&profile, &[]).await.unwrap());
    let status = |name: &str, status_type: &str| AgentStatus {
        id: fresh(),
        instance_id: instance.id.clone(),
        name: name.into(),
        description: None,
        status_type: status_type.into(),
        state: "ENABLED".into(),
        display_order: None,
        tags: Tags::new(),
        modified_ms: T0,
    };
    let available = status("Available", "ROUTABLE");
    let offline = status("Offline", "OFFLINE");
    for status in [&available, &offline] {
        assert!(store.create_agent_status(status).await.unwrap());
    }
    Floor {
        instance_id: instance.id,
        sales: sales.id,
        support: support.id,
        profile_id: profile.id,
        available: available.id,
        offline: offline.id,
    }
}

impl Floor {
    /// A new user on the routing profile, without a status; their id.
    async fn agent(&self, store: &dyn Store, username: &str) -> String {
        let user = User {
            id: fresh(),
            instance_id: self.instance_id.clone(),
            username: username.into(),
            identity_info: IdentityInfo::default(),
            phone_config: None,
            security_profile_ids: Vec::new(),
            routing_profile_id: self.profile_id.clone(),
            tags: Tags::new(),
            modified_ms: T0,
            status: None,
        };
        assert!(store.create_user(&user, None).await.unwrap());
        user.id
    }

    /// A new chat of the instance; its contact id.
    async fn chat(&self, store: &dyn Store) -> String {
        let chat = new_chat(&self.instance_id);
        let contact_id = chat.contact.id.clone();
        create(store, chat).await;
        contact_id
    }

    /// A contact of the instance queued without offer or rejections, as the store returns it.
    fn queued(&self, contact_id: &str, queue_id: &str, enqueued_ms: i64) -> QueuedContact {
        QueuedContact {
            contact_id: contact_id.into(),
            instance_id: self.instance_id.clone(),
            queue_id: queue_id.into(),
            enqueued_ms,
            offer: None,
            rejected_by: Vec::new(),
        }
    }

    /// Queues the contact in sales, offers it to the user and has them take it at `at_ms`.
    async fn accept(
        &self,
        store: &dyn Store,
        contact_id: &str,
        user_id: &str,
        at_ms: i64,
    ) -> AgentContact {
        store
            .enqueue_contact(&self.instance_id, contact_id, &self.sales, at_ms)
            .await
            .unwrap();
        assert!(
            store
                .open_offer(contact_id, user_id, at_ms + 20)
                .await
                .unwrap()
        );
        store
            .take_offer(contact_id, user_id, &fresh(), None, at_ms)
            .await
            .unwrap()
            .expect("the offer is taken")
    }
}

/// Offers the queued contact to the user, who closes the offer `how`.
async fn offer_and_close(store: &dyn Store, contact_id: &str, user_id: &str, how: OfferClosed) {
    assert!(
        store
            .open_offer(contact_id, user_id, T0 + 1_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .close_offer(contact_id, user_id, how, None)
            .await
            .unwrap()
    );
}

async fn queued(store: &dyn Store, contact_id: &str) -> Option<QueuedContact> {
    store.queued_contact(contact_id).await.unwrap()
}

async fn routing(store: &dyn Store, floor: &Floor, user_id: &str) -> AgentRouting {
    store
        .agent_routing(&floor.instance_id, user_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no routing for user {user_id}"))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn contacts_are_queued_moved_and_dequeued(store: &dyn Store) {
    let f = floor(store).await;
    let other = floor(store).await;
    let one = f.chat(store).await;
    let two = f.chat(store).await;
    let elsewhere = other.chat(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    let cy = f.agent(store, "cy").await;
    store
        .enqueue_contact(&f.instance_id, &one, &f.sales, T0 + 10)
        .await
        .unwrap();
    store
        .enqueue_contact(&f.instance_id, &two, &f.support, T0 + 5)
        .await
        .unwrap();
    store
        .enqueue_contact(&other.instance_id, &elsewhere, &other.sales, T0)
        .await
        .unwrap();
    assert_eq!(
        store.queued_contacts(&f.instance_id).await.unwrap(),
        vec![
            f.queued(&two, &f.support, T0 + 5),
            f.queued(&one, &f.sales, T0 + 10)
        ],
        "oldest first, of their instance only"
    );
    assert_eq!(
        queued(store, &one).await,
        Some(f.queued(&one, &f.sales, T0 + 10))
    );
    assert_eq!(queued(store, &fresh()).await, None);
    assert_eq!(
        store.queued_contacts(&other.instance_id).await.unwrap(),
        vec![other.queued(&elsewhere, &other.sales, T0)]
    );

    // Moving to another queue: a new place, without the open offer or the rejections.
    offer_and_close(store, &one, &ben, OfferClosed::Rejected).await;
    assert!(store.open_offer(&one, &ana, T0 + 100).await.unwrap());
    assert_eq!(
        queued(store, &one).await,
        Some(QueuedContact {
            offer: Some((ana.clone(), T0 + 100)),
            rejected_by: vec![ben.clone()],
            ..f.queued(&one, &f.sales, T0 + 10)
        })
    );
    store
        .enqueue_contact(&f.instance_id, &one, &f.sales, T0 + 15)
        .await
        .unwrap();
    assert_eq!(
        queued(store, &one).await,
        Some(QueuedContact {
            offer: Some((ana.clone(), T0 + 100)),
            rejected_by: vec![ben.clone()],
            ..f.queued(&one, &f.sales, T0 + 10)
        }),
        "queued again where it waits, nothing changes"
    );
    store
        .enqueue_contact(&f.instance_id, &one, &f.support, T0 + 20)
        .await
        .unwrap();
    assert_eq!(
        queued(store, &one).await,
        Some(f.queued(&one, &f.support, T0 + 20))
    );
    assert!(store.offers_to(&ana).await.unwrap().is_empty());
    assert_eq!(
        store.queued_contacts(&f.instance_id).await.unwrap(),
        vec![
            f.queued(&two, &f.support, T0 + 5),
            f.queued(&one, &f.support, T0 + 20)
        ]
    );

    // Dequeuing returns what was removed, open offer and rejections included.
    offer_and_close(store, &one, &ben, OfferClosed::Rejected).await;
    offer_and_close(store, &one, &ana, OfferClosed::Rejected).await;
    assert!(store.open_offer(&one, &cy, T0 + 200).await.unwrap());
    assert_eq!(
        store.dequeue_contact(&one).await.unwrap(),
        Some(QueuedContact {
            offer: Some((cy.clone(), T0 + 200)),
            rejected_by: sorted(vec![ana.clone(), ben.clone()]),
            ..f.queued(&one, &f.support, T0 + 20)
        })
    );
    assert_eq!(queued(store, &one).await, None);
    assert_eq!(store.dequeue_contact(&one).await.unwrap(), None);
    assert_eq!(store.dequeue_contact(&fresh()).await.unwrap(), None);
    assert!(store.offers_to(&cy).await.unwrap().is_empty());
    assert_eq!(
        store.queued_contacts(&f.instance_id).await.unwrap(),
        vec![f.queued(&two, &f.support, T0 + 5)]
    );
    store
        .enqueue_contact(&f.instance_id, &one, &f.sales, T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        queued(store, &one).await,
        Some(f.queued(&one, &f.sales, T0 + 30)),
        "queued again afresh"
    );
}

async fn offers_open_once_and_close_each_way(store: &dyn Store) {
    let f = floor(store).await;
    let contact = f.chat(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    store
        .enqueue_contact(&f.instance_id, &contact, &f.sales, T0)
        .await
        .unwrap();
    assert!(
        !store.open_offer(&fresh(), &ana, T0 + 20).await.unwrap(),
        "not queued"
    );
    assert!(store.open_offer(&contact, &ana, T0 + 20).await.unwrap());
    assert!(
        !store.open_offer(&contact, &ben, T0 + 21).await.unwrap(),
        "one open offer at a time"
    );
    assert!(!store.open_offer(&contact, &ana, T0 + 22).await.unwrap());
    let offered = QueuedContact {
        offer: Some((ana.clone(), T0 + 20)),
        ..f.queued(&contact, &f.sales, T0)
    };
    assert_eq!(queued(store, &contact).await, Some(offered.clone()));
    assert_eq!(store.offers_to(&ana).await.unwrap(), vec![offered.clone()]);
    assert!(store.offers_to(&ben).await.unwrap().is_empty());

    for how in ALL_WAYS {
        assert!(
            !store.close_offer(&contact, &ben, how, None).await.unwrap(),
            "{how:?}: not offered to ben"
        );
        assert!(
            !store.close_offer(&fresh(), &ana, how, None).await.unwrap(),
            "{how:?}: not queued"
        );
        assert!(
            !store
                .close_offer(&contact, &ana, how, Some(T0 + 19))
                .await
                .unwrap(),
            "{how:?}: an offer with another deadline"
        );
    }
    assert_eq!(
        queued(store, &contact).await,
        Some(offered),
        "refusals write nothing"
    );
    assert!(!routing(store, &f, &ben).await.missed);

    // Withdrawn: nothing remains of the offer.
    assert!(
        store
            .close_offer(&contact, &ana, OfferClosed::Withdrawn, Some(T0 + 20))
            .await
            .unwrap()
    );
    assert_eq!(
        queued(store, &contact).await,
        Some(f.queued(&contact, &f.sales, T0))
    );
    assert!(!routing(store, &f, &ana).await.missed);
    assert!(store.offers_to(&ana).await.unwrap().is_empty());
    for how in ALL_WAYS {
        assert!(
            !store.close_offer(&contact, &ana, how, None).await.unwrap(),
            "{how:?}: an offer closes once"
        );
    }

    // Rejected: the agent is remembered.
    offer_and_close(store, &contact, &ana, OfferClosed::Rejected).await;
    let rejected = QueuedContact {
        rejected_by: vec![ana.clone()],
        ..f.queued(&contact, &f.sales, T0)
    };
    assert_eq!(queued(store, &contact).await, Some(rejected.clone()));
    assert!(!routing(store, &f, &ana).await.missed);

    // Missed: the agent is in the missed state.
    offer_and_close(store, &contact, &ben, OfferClosed::Missed).await;
    assert_eq!(queued(store, &contact).await, Some(rejected));
    assert!(routing(store, &f, &ben).await.missed);
    assert!(!routing(store, &f, &ana).await.missed);
    assert!(store.offers_to(&ben).await.unwrap().is_empty());

    // Offers to an agent come oldest first, whatever the contacts' places in their queues.
    let second = f.chat(store).await;
    let third = f.chat(store).await;
    store
        .enqueue_contact(&f.instance_id, &second, &f.support, T0 + 5)
        .await
        .unwrap();
    store
        .enqueue_contact(&f.instance_id, &third, &f.sales, T0 + 1)
        .await
        .unwrap();
    for (contact_id, deadline_ms) in [
        (&second, T0 + 100),
        (&third, T0 + 110),
        (&contact, T0 + 120),
    ] {
        assert!(
            store
                .open_offer(contact_id, &ana, deadline_ms)
                .await
                .unwrap()
        );
    }
    assert_eq!(
        store.offers_to(&ana).await.unwrap(),
        vec![
            QueuedContact {
                offer: Some((ana.clone(), T0 + 100)),
                ..f.queued(&second, &f.support, T0 + 5)
            },
            QueuedContact {
                offer: Some((ana.clone(), T0 + 110)),
                ..f.queued(&third, &f.sales, T0 + 1)
            },
            QueuedContact {
                offer: Some((ana.clone(), T0 + 120)),
                rejected_by: vec![ana.clone()],
                ..f.queued(&contact, &f.sales, T0)
            },
        ]
    );
}

async fn offers_are_taken_only_while_open_and_by_their_agent(store: &dyn Store) {
    let f = floor(store).await;
    let contact = f.chat(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    let cy = f.agent(store, "cy").await;
    store
        .enqueue_contact(&f.instance_id, &contact, &f.sales, T0)
        .await
        .unwrap();
    offer_and_close(store, &contact, &cy, OfferClosed::Rejected).await;
    assert!(store.open_offer(&contact, &ana, T0 + 20).await.unwrap());
    assert_eq!(
        store
            .take_offer(&contact, &ben, &fresh(), None, T0 + 5)
            .await
            .unwrap(),
        None,
        "offered to someone else"
    );
    assert_eq!(
        store
            .take_offer(&fresh(), &ana, &fresh(), None, T0 + 5)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        queued(store, &contact).await,
        Some(QueuedContact {
            offer: Some((ana.clone(), T0 + 20)),
            rejected_by: vec![cy.clone()],
            ..f.queued(&contact, &f.sales, T0)
        }),
        "refusals write nothing"
    );
    assert!(store.agent_contacts(&ben).await.unwrap().is_empty());

    let participant_id = fresh();
    let expected = AgentContact {
        contact_id: contact.clone(),
        user_id: ana.clone(),
        instance_id: f.instance_id.clone(),
        participant_id: participant_id.clone(),
        queue_id: f.sales.clone(),
        state: AgentContactState::Connected,
        accepted_ms: T0 + 30,
        ended_ms: None,
        after_contact_flow_id: Some("acw-flow".into()),
        guide_contact_id: None,
    };
    assert_eq!(
        store
            .take_offer(&contact, &ana, &participant_id, Some("acw-flow"), T0 + 30)
            .await
            .unwrap(),
        Some(expected.clone()),
        "past its deadline, an offer still open is taken: the router times offers out"
    );
    assert_eq!(queued(store, &contact).await, None);
    assert!(store.offers_to(&ana).await.unwrap().is_empty());
    assert_eq!(
        store.agent_contacts(&ana).await.unwrap(),
        vec![expected.clone()]
    );
    assert_eq!(
        store.contact_agents(&contact).await.unwrap(),
        vec![expected]
    );
    assert_eq!(
        store
            .take_offer(&contact, &ana, &fresh(), None, T0 + 31)
            .await
            .unwrap(),
        None,
        "taken once"
    );
    for how in ALL_WAYS {
        assert!(
            !store.close_offer(&contact, &ana, how, None).await.unwrap(),
            "{how:?}: a taken offer is closed"
        );
    }
    assert!(!routing(store, &f, &ana).await.missed);

    // Offers that closed, and contacts never offered, cannot be taken.
    for how in ALL_WAYS {
        let closed = f.chat(store).await;
        store
            .enqueue_contact(&f.instance_id, &closed, &f.support, T0 + 40)
            .await
            .unwrap();
        offer_and_close(store, &closed, &ben, how).await;
        assert_eq!(
            store
                .take_offer(&closed, &ben, &fresh(), None, T0 + 41)
                .await
                .unwrap(),
            None,
            "{how:?}"
        );
        assert_eq!(
            queued(store, &closed).await.map(|q| q.offer),
            Some(None),
            "{how:?}: still queued"
        );
    }
    let never = f.chat(store).await;
    store
        .enqueue_contact(&f.instance_id, &never, &f.sales, T0 + 50)
        .await
        .unwrap();
    assert_eq!(
        store
            .take_offer(&never, &ana, &fresh(), None, T0 + 51)
            .await
            .unwrap(),
        None
    );
    assert!(store.agent_contacts(&ben).await.unwrap().is_empty());
    assert_eq!(store.agent_contacts(&ana).await.unwrap().len(), 1);
}

async fn a_status_change_lifts_rejections_and_the_missed_state(store: &dyn Store) {
    let f = floor(store).await;
    let one = f.chat(store).await;
    let two = f.chat(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    for (contact_id, at_ms) in [(&one, T0), (&two, T0 + 1)] {
        store
            .enqueue_contact(&f.instance_id, contact_id, &f.sales, at_ms)
            .await
            .unwrap();
    }
    for user_id in [&ana, &ben] {
        assert!(
            store
                .set_user_status(&f.instance_id, user_id, &f.available, T0 + 2)
                .await
                .unwrap()
        );
    }
    offer_and_close(store, &one, &ana, OfferClosed::Rejected).await;
    offer_and_close(store, &one, &ben, OfferClosed::Rejected).await;
    offer_and_close(store, &two, &ben, OfferClosed::Rejected).await;
    offer_and_close(store, &two, &ana, OfferClosed::Missed).await;
    offer_and_close(store, &one, &ben, OfferClosed::Missed).await;
    let both = sorted(vec![ana.clone(), ben.clone()]);
    let rejections = async |contact_id: &str| queued(store, contact_id).await.unwrap().rejected_by;
    assert_eq!(rejections(&one).await, both);
    assert_eq!(rejections(&two).await, vec![ben.clone()]);
    assert!(routing(store, &f, &ana).await.missed);
    assert!(routing(store, &f, &ben).await.missed);

    assert!(
        !store
            .set_user_status(&fresh(), &ana, &f.offline, T0 + 3)
            .await
            .unwrap(),
        "not a user of that instance"
    );
    assert_eq!(rejections(&one).await, both, "a refusal lifts nothing");
    assert!(routing(store, &f, &ana).await.missed);

    assert!(
        store
            .set_user_status(&f.instance_id, &ana, &f.offline, T0 + 50)
            .await
            .unwrap()
    );
    assert_eq!(rejections(&one).await, vec![ben.clone()]);
    assert_eq!(rejections(&two).await, vec![ben.clone()]);
    assert!(!routing(store, &f, &ana).await.missed);
    assert!(
        routing(store, &f, &ben).await.missed,
        "other agents keep theirs"
    );

    // Setting the same status again is a status change too.
    assert!(
        store
            .set_user_status(&f.instance_id, &ben, &f.available, T0 + 60)
            .await
            .unwrap()
    );
    assert!(rejections(&one).await.is_empty());
    assert!(rejections(&two).await.is_empty());
    assert!(!routing(store, &f, &ben).await.missed);
}

async fn agent_contacts_go_through_after_contact_work_until_cleared(store: &dyn Store) {
    let f = floor(store).await;
    let one = f.chat(store).await;
    let two = f.chat(store).await;
    let three = f.chat(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    let first = f.accept(store, &one, &ana, T0 + 10).await;
    let second = f.accept(store, &two, &ana, T0 + 20).await;
    assert_eq!(
        store.agent_contacts(&ana).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    assert!(
        !store.end_agent_contact(&one, &ben, T0 + 30).await.unwrap(),
        "not ben's"
    );
    assert!(
        !store
            .end_agent_contact(&fresh(), &ana, T0 + 30)
            .await
            .unwrap()
    );
    assert!(store.end_agent_contact(&one, &ana, T0 + 30).await.unwrap());
    let after_work = AgentContact {
        state: AgentContactState::AfterContactWork,
        ended_ms: Some(T0 + 30),
        ..first.clone()
    };
    assert!(
        !store.end_agent_contact(&one, &ana, T0 + 31).await.unwrap(),
        "ended once"
    );
    assert_eq!(
        store.agent_contacts(&ana).await.unwrap(),
        vec![after_work.clone(), second.clone()]
    );
    assert_eq!(
        store.contact_agents(&one).await.unwrap(),
        vec![after_work.clone()]
    );

    // A guide runs for a contact the agent has, connected or in after-contact work.
    assert!(
        !store.set_agent_guide(&one, &ben, "guide-0").await.unwrap(),
        "not ben's"
    );
    assert!(store.set_agent_guide(&two, &ana, "guide-2").await.unwrap());
    assert!(
        !store.set_agent_guide(&two, &ana, "guide-x").await.unwrap(),
        "one guide at a time"
    );
    assert_eq!(
        store.contact_agents(&two).await.unwrap()[0]
            .guide_contact_id
            .as_deref(),
        Some("guide-2")
    );
    assert!(store.set_agent_guide(&one, &ana, "guide-1").await.unwrap());
    assert_eq!(
        store.contact_agents(&one).await.unwrap(),
        vec![AgentContact {
            guide_contact_id: Some("guide-1".into()),
            ..after_work
        }]
    );

    assert!(
        !store
            .clear_agent_contact(&one, &ben, T0 + 40)
            .await
            .unwrap()
    );
    assert!(
        store
            .clear_agent_contact(&one, &ana, T0 + 40)
            .await
            .unwrap()
    );
    assert!(
        !store
            .clear_agent_contact(&one, &ana, T0 + 41)
            .await
            .unwrap(),
        "cleared once"
    );
    assert!(!store.end_agent_contact(&one, &ana, T0 + 41).await.unwrap());
    assert_eq!(
        store.agent_contacts(&ana).await.unwrap(),
        vec![AgentContact {
            guide_contact_id: Some("guide-2".into()),
            ..second
        }]
    );
    assert!(store.contact_agents(&one).await.unwrap().is_empty());

    // A connected contact clears without after-contact work.
    assert!(
        store
            .clear_agent_contact(&two, &ana, T0 + 50)
            .await
            .unwrap()
    );
    assert!(!store.end_agent_contact(&two, &ana, T0 + 51).await.unwrap());
    assert!(store.agent_contacts(&ana).await.unwrap().is_empty());

    // A contact transferred to another agent has both until each clears, oldest first.
    let theirs = f.accept(store, &three, &ana, T0 + 60).await;
    let mine = f.accept(store, &three, &ben, T0 + 70).await;
    assert_eq!(
        store.contact_agents(&three).await.unwrap(),
        vec![theirs, mine.clone()]
    );
    assert!(
        store
            .clear_agent_contact(&three, &ana, T0 + 80)
            .await
            .unwrap()
    );
    assert_eq!(store.contact_agents(&three).await.unwrap(), vec![mine]);

    // An agent who takes a contact they cleared before has it afresh.
    let again = f.accept(store, &one, &ana, T0 + 90).await;
    assert_eq!(
        again,
        AgentContact {
            participant_id: again.participant_id.clone(),
            accepted_ms: T0 + 90,
            ..first
        }
    );
    assert_ne!(again.participant_id, first.participant_id);
    assert_eq!(store.agent_contacts(&ana).await.unwrap(), vec![again]);
}

async fn an_after_contact_flow_makes_its_guide_due_when_the_chat_ends(store: &dyn Store) {
    let f = floor(store).await;
    let guided = f.chat(store).await;
    let plain = f.chat(store).await;
    let ana = f.agent(store, "ana").await;
    for (contact, flow) in [(&guided, Some("acw-flow")), (&plain, None)] {
        store
            .enqueue_contact(&f.instance_id, contact, &f.sales, T0)
            .await
            .unwrap();
        assert!(store.open_offer(contact, &ana, T0 + 20).await.unwrap());
        store
            .take_offer(contact, &ana, &fresh(), flow, T0)
            .await
            .unwrap()
            .expect("the offer is taken");
        assert!(
            store
                .set_agent_guide(contact, &ana, &format!("default-{contact}"))
                .await
                .unwrap()
        );
        assert!(
            store
                .end_agent_contact(contact, &ana, T0 + 30)
                .await
                .unwrap()
        );
    }
    let guide_of = |contact: String| async move {
        store.contact_agents(&contact).await.unwrap()[0]
            .guide_contact_id
            .clone()
    };
    // The after-contact guide is due: no guide is recorded until it starts, once.
    assert_eq!(guide_of(guided.clone()).await, None);
    assert!(store.set_agent_guide(&guided, &ana, "acw").await.unwrap());
    assert!(
        !store
            .set_agent_guide(&guided, &ana, "acw-again")
            .await
            .unwrap()
    );
    assert_eq!(guide_of(guided.clone()).await.as_deref(), Some("acw"));
    // Without one, the guide that ran goes on.
    assert_eq!(
        guide_of(plain.clone()).await,
        Some(format!("default-{plain}"))
    );
}

async fn agents_routing_counts_open_contacts_and_idle_time(store: &dyn Store) {
    let f = floor(store).await;
    let other = floor(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    let cy = f.agent(store, "cy").await;
    assert!(
        store
            .set_user_status(&f.instance_id, &ben, &f.available, T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_user_status(&f.instance_id, &cy, &f.offline, T0 + 7)
            .await
            .unwrap()
    );
    let view = |user_id: &str, available: bool, idle_since_ms: i64| AgentRouting {
        user_id: user_id.into(),
        instance_id: f.instance_id.clone(),
        routing_profile_id: f.profile_id.clone(),
        available,
        missed: false,
        open_contacts: 0,
        idle_since_ms,
    };
    assert_eq!(
        routing(store, &f, &ana).await,
        view(&ana, false, 0),
        "no status yet, never idle"
    );
    assert_eq!(routing(store, &f, &ben).await, view(&ben, true, T0 + 5));
    assert_eq!(routing(store, &f, &cy).await, view(&cy, false, T0 + 7));
    let mut everyone = vec![
        view(&ana, false, 0),
        view(&ben, true, T0 + 5),
        view(&cy, false, T0 + 7),
    ];
    everyone.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    assert_eq!(
        store.agents_routing(&f.instance_id).await.unwrap(),
        everyone
    );
    assert_eq!(
        store.agent_routing(&other.instance_id, &ana).await.unwrap(),
        None,
        "scoped to its instance"
    );
    assert_eq!(
        store.agent_routing(&f.instance_id, &fresh()).await.unwrap(),
        None
    );
    assert!(
        store
            .agents_routing(&other.instance_id)
            .await
            .unwrap()
            .is_empty()
    );

    // Contacts count until cleared; clearing one, or a status change, makes the agent idle.
    let one = f.chat(store).await;
    let two = f.chat(store).await;
    f.accept(store, &one, &ben, T0 + 10).await;
    f.accept(store, &two, &ben, T0 + 20).await;
    let busy = |open_contacts: u32, idle_since_ms: i64| AgentRouting {
        open_contacts,
        ..view(&ben, true, idle_since_ms)
    };
    assert_eq!(routing(store, &f, &ben).await, busy(2, T0 + 5));
    assert!(store.end_agent_contact(&one, &ben, T0 + 30).await.unwrap());
    assert_eq!(
        routing(store, &f, &ben).await,
        busy(2, T0 + 5),
        "after-contact work takes a slot"
    );
    assert!(
        store
            .clear_agent_contact(&one, &ben, T0 + 40)
            .await
            .unwrap()
    );
    assert_eq!(routing(store, &f, &ben).await, busy(1, T0 + 40));
    assert!(
        store
            .set_user_status(&f.instance_id, &ben, &f.available, T0 + 50)
            .await
            .unwrap()
    );
    assert_eq!(routing(store, &f, &ben).await, busy(1, T0 + 50));
    assert!(
        store
            .clear_agent_contact(&two, &ben, T0 + 45)
            .await
            .unwrap()
    );
    assert_eq!(
        routing(store, &f, &ben).await,
        busy(0, T0 + 50),
        "the later of the two"
    );

    // An agent without a status is idle from their last cleared contact.
    let three = f.chat(store).await;
    f.accept(store, &three, &ana, T0 + 60).await;
    assert_eq!(
        routing(store, &f, &ana).await,
        AgentRouting {
            open_contacts: 1,
            ..view(&ana, false, 0)
        }
    );
    assert!(
        store
            .clear_agent_contact(&three, &ana, T0 + 70)
            .await
            .unwrap()
    );
    assert_eq!(routing(store, &f, &ana).await, view(&ana, false, T0 + 70));
}

async fn concurrent_acceptances_and_timeouts_close_an_offer_once(store: &Arc<dyn Store>) {
    let s: &dyn Store = &**store;
    let f = floor(s).await;
    let ana = f.agent(s, "ana").await;
    let mut contacts = Vec::new();
    for n in 0..8 {
        let contact_id = f.chat(s).await;
        s.enqueue_contact(&f.instance_id, &contact_id, &f.sales, T0 + n)
            .await
            .unwrap();
        assert!(s.open_offer(&contact_id, &ana, T0 + 20).await.unwrap());
        contacts.push(contact_id);
    }
    let races: Vec<_> = contacts
        .iter()
        .map(|contact_id| {
            let (taker, timer) = (Arc::clone(store), Arc::clone(store));
            let (take_id, time_id) = (contact_id.clone(), contact_id.clone());
            let (take_user, time_user) = (ana.clone(), ana.clone());
            (
                tokio::spawn(async move {
                    taker
                        .take_offer(&take_id, &take_user, &fresh(), None, T0 + 20)
                        .await
                        .unwrap()
                }),
                tokio::spawn(async move {
                    timer
                        .close_offer(&time_id, &time_user, OfferClosed::Missed, None)
                        .await
                        .unwrap()
                }),
            )
        })
        .collect();
    let mut taken = 0;
    let mut missed = 0;
    for (contact_id, (take, time_out)) in contacts.iter().zip(races) {
        let took = take.await.unwrap().is_some();
        let timed_out = time_out.await.unwrap();
        assert!(took != timed_out, "exactly one closes the offer");
        if took {
            taken += 1;
            assert_eq!(queued(s, contact_id).await, None);
        } else {
            missed += 1;
            assert_eq!(
                queued(s, contact_id).await.map(|q| q.offer),
                Some(None),
                "still queued, without an offer"
            );
            assert!(s.contact_agents(contact_id).await.unwrap().is_empty());
        }
    }
    let agent = routing(s, &f, &ana).await;
    assert_eq!(agent.open_contacts, taken);
    assert_eq!(agent.missed, missed > 0);
    assert_eq!(s.agent_contacts(&ana).await.unwrap().len(), taken as usize);
}

async fn leases_are_held_until_they_expire(store: &dyn Store) {
    let name = format!("lease-{}", fresh());
    let claim = async |holder: &str, now_ms: i64, until_ms: i64| {
        store
            .claim_lease(&name, holder, now_ms, until_ms)
            .await
            .unwrap()
    };
    assert!(claim("node-a", T0, T0 + 100).await, "free");
    assert!(!claim("node-b", T0 + 50, T0 + 150).await, "held by node-a");
    assert!(
        claim("node-a", T0 + 60, T0 + 160).await,
        "renewed by its holder"
    );
    assert!(
        !claim("node-b", T0 + 159, T0 + 259).await,
        "the renewal holds it longer"
    );
    assert!(
        claim("node-b", T0 + 160, T0 + 260).await,
        "expired at its end"
    );
    assert!(!claim("node-a", T0 + 200, T0 + 300).await, "node-b's now");
    assert!(
        claim("node-a", T0 + 500, T0 + 600).await,
        "expired long ago"
    );
    assert!(
        store
            .claim_lease(&format!("lease-{}", fresh()), "node-b", T0 + 500, T0 + 600)
            .await
            .unwrap(),
        "each name is a lease of its own"
    );
}

async fn concurrent_claims_of_a_lease_let_one_in(store: &Arc<dyn Store>) {
    let name = format!("lease-{}", fresh());
    let claims: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(store);
            let name = name.clone();
            tokio::spawn(async move {
                let holder = format!("node-{n}");
                let held = store
                    .claim_lease(&name, &holder, T0, T0 + 100)
                    .await
                    .unwrap();
                (held, holder)
            })
        })
        .collect();
    let mut holders = Vec::new();
    for claim in claims {
        let (held, holder) = claim.await.unwrap();
        if held {
            holders.push(holder);
        }
    }
    assert_eq!(holders.len(), 1, "one node holds it");
    assert!(
        store
            .claim_lease(&name, &holders[0], T0 + 10, T0 + 110)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_lease(&name, "node-late", T0 + 10, T0 + 110)
            .await
            .unwrap()
    );
}

async fn agent_sessions_expire_and_go_with_their_user(store: &dyn Store) {
    let f = floor(store).await;
    let ana = f.agent(store, "ana").await;
    let ben = f.agent(store, "ben").await;
    let session = |user_id: &str, expires_ms: i64| AgentSession {
        token_hash: format!("hash-{}", fresh()),
        instance_id: f.instance_id.clone(),
        user_id: user_id.into(),
        expires_ms,
    };
    let short = session(&ana, T0 + 100);
    let long = session(&ana, T0 + 1_000);
    let signed_out = session(&ana, T0 + 1_000);
    let bens = session(&ben, T0 + 1_000);
    for s in [&short, &long, &signed_out, &bens] {
        store.create_agent_session(s, T0).await.unwrap();
    }
    let find = async |s: &AgentSession, now_ms: i64| {
        store.agent_session(&s.token_hash, now_ms).await.unwrap()
    };
    assert_eq!(find(&short, T0 + 99).await, Some(short.clone()));
    assert_eq!(find(&short, T0 + 100).await, None, "expired at its expiry");
    // A sign-in after its expiry removes it (asked as of before, it is gone all the same).
    let later = session(&ben, T0 + 2_000);
    store.create_agent_session(&later, T0 + 100).await.unwrap();
    assert_eq!(find(&short, T0).await, None, "purged");
    assert_eq!(
        find(&long, T0).await,
        Some(long.clone()),
        "not expired, kept"
    );
    assert_eq!(store.agent_session(&fresh(), T0).await.unwrap(), None);
    store
        .delete_agent_session(&signed_out.token_hash)
        .await
        .unwrap();
    assert_eq!(find(&signed_out, T0).await, None);
    assert_eq!(find(&long, T0).await, Some(long.clone()));
    store
        .delete_agent_session(&signed_out.token_hash)
        .await
        .unwrap();

    // A deleted user's sessions and rejections go with them.
    let contact = f.chat(store).await;
    store
        .enqueue_contact(&f.instance_id, &contact, &f.sales, T0)
        .await
        .unwrap();
    offer_and_close(store, &contact, &ana, OfferClosed::Rejected).await;
    offer_and_close(store, &contact, &ben, OfferClosed::Rejected).await;
    assert!(store.delete_user(&f.instance_id, &ana).await.unwrap());
    assert_eq!(find(&long, T0).await, None);
    assert_eq!(find(&bens, T0).await, Some(bens.clone()));
    assert_eq!(
        queued(store, &contact).await.map(|q| q.rejected_by),
        Some(vec![ben])
    );
}
