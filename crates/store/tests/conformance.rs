//! The `Store` conformance suite: every behaviour the server relies on, written once against
//! `dyn Store`. The SQLite implementation runs it below; the PostgreSQL implementation runs the
//! very same `suite` against its database. Each check creates its own instance, contacts and
//! ids (fresh uuids), so checks never see each other's rows even in a shared database, and no
//! check assumes it is alone (lists are searched, not compared whole, where other rows may exist).

use liaison_core::idle::{CustomParticipantRefusal, RoleTimers, SESSION_TIMER, TimerConfig};
use liaison_core::transcript::{Anchor, ScanDirection};
use liaison_core::{
    ChatItem, Contact, ContactData, ContactState, Flow, FlowModule, Instance, ItemType, NewItem,
    Participant, ParticipantRole, TokenKind, TokenRecord, View,
};
use liaison_store::{
    AddedParticipant, Append, Appended, ClientTokenKey, CreateChat, FlowLogRecord,
    MergedAttributes, NewChat, NewParticipant, PostgresStore, Replay, SqliteStore, Store, Timer,
    TimerEffect, TimerUpdate,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[path = "conformance/attachments.rs"]
mod attachments;
#[path = "conformance/organisation.rs"]
mod organisation;
#[path = "conformance/routing.rs"]
mod routing;
#[path = "conformance/widgets.rs"]
mod widgets;

/// Runs every check against `store`.
async fn suite(store: Arc<dyn Store>) {
    let s: &dyn Store = &*store;
    instances_are_inserted_listed_and_found(s).await;
    flows_are_listed_by_name_and_scoped_to_their_instance(s).await;
    flow_modules_have_names_of_their_own(s).await;
    views_have_unique_names_and_are_updated_and_deleted(s).await;
    queues_are_inserted_and_listed_by_name(s).await;
    functions_are_associated_per_instance(s).await;
    flow_logs_keep_their_order_per_contact(s).await;
    create_chat_writes_contact_customer_token_and_items(s).await;
    create_chat_replays_a_client_token_without_writing(s).await;
    tokens_are_found_by_hash(s).await;
    insert_tokens_stores_all_or_nothing(s).await;
    append_continues_the_sequence_without_gaps(s).await;
    concurrent_appends_get_distinct_gapless_seqs(&store).await;
    append_replays_a_client_token_without_writing(s).await;
    concurrent_retries_of_one_client_token_write_once(&store).await;
    append_to_an_unknown_or_ended_contact_is_closed(s).await;
    ending_a_contact_closes_it_and_every_participant(s).await;
    participant_left_marks_only_that_participant(s).await;
    merge_attributes_merges_replaces_and_enforces_the_limit(s).await;
    contact_data_is_merged_field_by_field(s).await;
    items_after_returns_later_items_in_order_up_to_the_limit(s).await;
    find_item_is_scoped_to_its_contact(s).await;
    transcript_anchor_resolves_ids_times_and_recency(s).await;
    transcript_page_scans_both_ways_skipping_non_transcript_items(s).await;
    transcripts_show_each_side_only_its_own_whispers(s).await;
    items_round_trip_every_field(s).await;
    open_contact_deadlines_lists_only_open_contacts(s).await;
    due_contacts_are_open_and_overdue_oldest_first(s).await;
    last_seqs_and_open_counts_follow_the_log(s).await;
    token_holders_come_with_their_participant_and_contact(s).await;
    custom_participants_are_one_per_contact_and_never_beside_an_agent(s).await;
    concurrent_custom_participants_are_added_once(&store).await;
    timer_configs_are_stored_on_open_contacts_only(s).await;
    timer_updates_read_modify_and_write_with_the_append(s).await;
    create_chat_writes_its_timers(s).await;
    concurrent_timer_updates_see_each_other(&store).await;
    due_timers_are_claimed_once_until_their_lease_ends(s).await;
    organisation::checks(&store).await;
    routing::checks(&store).await;
    widgets::checks(&store).await;
    attachments::checks(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open sqlite");
    suite(Arc::new(store)).await;
}

/// The same suite on PostgreSQL, in a schema of its own, when `LIAISON_TEST_DATABASE_URL` names
/// a server (`.ci/run` sets it; the development machines run one on 127.0.0.1:5432).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    let Ok(url) = std::env::var("LIAISON_TEST_DATABASE_URL") else {
        eprintln!("LIAISON_TEST_DATABASE_URL is not set; skipping the PostgreSQL run of the suite");
        return;
    };
    let schema = format!("conformance_{}", Uuid::new_v4().simple());
    let store = PostgresStore::connect(&url, Some(&schema))
        .await
        .expect("connect to PostgreSQL");
    suite(Arc::new(store)).await;
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("connect to drop the schema");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test schema");
}

#[tokio::test]
async fn sqlite_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open sqlite");
    let instance = new_instance(&store).await;
    let mut chat = new_chat(&instance.id);
    chat.items = vec![
        joined(&chat.customer, T0),
        message(&chat.customer, T0 + 1, "hello"),
    ];
    let created = create(&store, chat.clone()).await;
    let key = client_token("SendMessage:reopen", "h1");
    let sent = match store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            items: vec![message(&chat.customer, T0 + 2, "still there?")],
            client_token: Some(key.clone()),
            ..Append::default()
        })
        .await
        .expect("append")
    {
        Appended::Written(items) => items,
        other => panic!("expected Written, got {other:?}"),
    };
    let mut before = created.clone();
    before.extend(sent.clone());
    drop(store);

    let store = SqliteStore::open(dir.path()).await.expect("reopen sqlite");
    assert_eq!(
        store.get_instance(&instance.id).await.unwrap(),
        Some(instance.clone())
    );
    assert_eq!(
        store.get_contact(&chat.contact.id).await.unwrap(),
        Some(Contact {
            last_seq: 3,
            ..chat.contact.clone()
        })
    );
    assert_eq!(
        store.list_participants(&chat.contact.id).await.unwrap(),
        vec![chat.customer.clone()]
    );
    assert_eq!(
        stored_token(&store, &chat.customer_token.hash).await,
        Some(chat.customer_token.clone())
    );
    assert_eq!(
        store.items_after(&chat.contact.id, 0, 100).await.unwrap(),
        before
    );
    assert!(
        store
            .open_contact_deadlines()
            .await
            .unwrap()
            .contains(&(chat.contact.id.clone(), chat.contact.expires_ms))
    );
    // The client token survived too.
    assert_eq!(
        store
            .append(Append {
                contact_id: chat.contact.id.clone(),
                items: vec![message(&chat.customer, T0 + 3, "retry")],
                client_token: Some(key),
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::Replayed(Replay {
            request_hash: "h1".into(),
            result: sent[0].item.id.clone(),
        })
    );
    // And the sequence continues where it was.
    let more = append_ok(
        &store,
        &chat.contact.id,
        vec![message(&chat.customer, T0 + 4, "after restart")],
    )
    .await;
    assert_eq!(seqs(&more), vec![4]);
    assert_eq!(
        store
            .get_contact(&chat.contact.id)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        4
    );
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const T0: i64 = 1_700_000_000_000;
const HOUR_MS: i64 = 60 * 60 * 1000;

fn fresh() -> String {
    Uuid::new_v4().to_string()
}

/// The stored token with this hash, as the server looks it up.
async fn stored_token(store: &dyn Store, hash: &str) -> Option<TokenRecord> {
    store
        .token_holder(hash)
        .await
        .unwrap()
        .map(|holder| holder.token)
}

/// The stored state of a participant.
async fn participant(store: &dyn Store, who: &Participant) -> Option<Participant> {
    store
        .list_participants(&who.contact_id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == who.id)
}

async fn new_instance(store: &dyn Store) -> Instance {
    let instance = Instance {
        id: fresh(),
        alias: format!("alias-{}", fresh()),
        created_ms: T0,
    };
    store
        .insert_instance(&instance)
        .await
        .expect("insert instance");
    instance
}

/// A StartChatContact's worth of records with fresh ids, without items or client token.
fn new_chat(instance_id: &str) -> NewChat {
    let contact_id = fresh();
    let customer = Participant {
        id: fresh(),
        contact_id: contact_id.clone(),
        role: ParticipantRole::Customer,
        display_name: "Ana".into(),
        joined_ms: T0,
        left_ms: None,
        connected_ms: Some(T0),
    };
    NewChat {
        contact: Contact {
            id: contact_id.clone(),
            instance_id: instance_id.to_string(),
            initial_contact_id: contact_id.clone(),
            related_contact_id: None,
            flow_id: fresh(),
            state: ContactState::Open,
            attributes: BTreeMap::from([("customerName".to_string(), "Ana".to_string())]),
            segment_attributes: Some(
                json!({"connect:Subtype": {"ValueString": "connect:Chat"}, "n": [1, 2.5, null]}),
            ),
            customer_id: Some(format!("cust-{}", fresh())),
            supported_content_types: vec!["text/plain".into(), "text/markdown".into()],
            initiated_ms: T0,
            ended_ms: None,
            expires_ms: T0 + 25 * HOUR_MS,
            last_seq: 0,
            timer_config: TimerConfig {
                customer: RoleTimers {
                    idle_minutes: Some(3),
                    disconnect_minutes: None,
                },
                agent: RoleTimers::default(),
            },
            data: Default::default(),
            watches_messages: false,
        },
        customer_token: TokenRecord {
            hash: format!("hash-{}", fresh()),
            kind: TokenKind::Participant,
            participant_id: customer.id.clone(),
            contact_id,
            expires_ms: Some(T0 + 25 * HOUR_MS),
        },
        customer,
        items: Vec::new(),
        client_token: None,
        timers: Vec::new(),
        flow_logs: Vec::new(),
    }
}

/// Creates the chat, which must not be a replay, and returns its items.
async fn create(store: &dyn Store, chat: NewChat) -> Vec<ChatItem> {
    match store.create_chat(chat).await.expect("create chat") {
        CreateChat::Created(items) => items,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// A fresh chat of a fresh instance, with `items(customer)` as its initial items.
async fn start_chat(
    store: &dyn Store,
    items: impl FnOnce(&Participant) -> Vec<NewItem>,
) -> (NewChat, Vec<ChatItem>) {
    let instance = new_instance(store).await;
    let mut chat = new_chat(&instance.id);
    chat.items = items(&chat.customer);
    let written = create(store, chat.clone()).await;
    (chat, written)
}

async fn append_ok(store: &dyn Store, contact_id: &str, items: Vec<NewItem>) -> Vec<ChatItem> {
    match store
        .append(Append {
            contact_id: contact_id.to_string(),
            items,
            ..Append::default()
        })
        .await
        .expect("append")
    {
        Appended::Written(items) => items,
        other => panic!("expected Written, got {other:?}"),
    }
}

fn message(sender: &Participant, at_ms: i64, text: &str) -> NewItem {
    NewItem::new(ItemType::Message, "text/plain", Some(sender), at_ms).with_content(text)
}

fn joined(sender: &Participant, at_ms: i64) -> NewItem {
    NewItem::new(
        ItemType::Event,
        "application/vnd.amazonaws.connect.event.participant.joined",
        Some(sender),
        at_ms,
    )
}

/// A typing event: pushed, but not part of the transcript.
fn typing(sender: &Participant, at_ms: i64) -> NewItem {
    NewItem {
        in_transcript: false,
        ..NewItem::new(
            ItemType::Event,
            "application/vnd.amazonaws.connect.event.typing",
            Some(sender),
            at_ms,
        )
    }
}

fn client_token(scope: &str, request_hash: &str) -> ClientTokenKey {
    ClientTokenKey {
        scope: format!("{scope}:{}", fresh()),
        token: fresh(),
        request_hash: request_hash.into(),
    }
}

fn seqs(items: &[ChatItem]) -> Vec<i64> {
    items.iter().map(|i| i.seq).collect()
}

async fn contact(store: &dyn Store, id: &str) -> Contact {
    store
        .get_contact(id)
        .await
        .expect("get contact")
        .unwrap_or_else(|| panic!("contact {id} missing"))
}

// ---------------------------------------------------------------------------------------------
// Checks

async fn instances_are_inserted_listed_and_found(store: &dyn Store) {
    let a = new_instance(store).await;
    let b = Instance {
        id: fresh(),
        alias: "second".into(),
        created_ms: T0 + 5,
    };
    store.insert_instance(&b).await.unwrap();
    let listed = store.list_instances().await.unwrap();
    assert!(listed.contains(&a), "{a:?} not listed");
    assert!(listed.contains(&b), "{b:?} not listed");
    assert_eq!(store.get_instance(&a.id).await.unwrap(), Some(a));
    assert_eq!(store.get_instance(&b.id).await.unwrap(), Some(b));
    assert_eq!(store.get_instance(&fresh()).await.unwrap(), None);
}

async fn flows_are_listed_by_name_and_scoped_to_their_instance(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    // Ids sort against the names, and flows are inserted in neither order, so only ordering by
    // name passes.
    let flow = |instance: &Instance, name: &str, modified_ms: i64| Flow {
        id: format!("{}-{}", 9 - (modified_ms - T0), fresh()),
        instance_id: instance.id.clone(),
        name: name.into(),
        flow_type: "CONTACT_FLOW".into(),
        state: "ACTIVE".into(),
        status: "PUBLISHED".into(),
        description: format!("the {name} flow"),
        content: json!({"Version": "2019-10-30", "StartAction": name}).to_string(),
        modified_ms,
    };
    let bravo = flow(&one, "Bravo", T0 + 1);
    let alpha = flow(&one, "Alpha", T0 + 2);
    let charlie = Flow {
        flow_type: "CUSTOMER_QUEUE".into(),
        state: "ARCHIVED".into(),
        status: "SAVED".into(),
        ..flow(&one, "Charlie", T0 + 3)
    };
    let other = flow(&two, "Alpha", T0 + 4);
    for f in [&bravo, &charlie, &alpha, &other] {
        store.insert_flow(f).await.unwrap();
    }
    assert_eq!(
        store.list_flows(&one.id).await.unwrap(),
        vec![alpha.clone(), bravo.clone(), charlie.clone()]
    );
    assert_eq!(
        store.list_flows(&two.id).await.unwrap(),
        vec![other.clone()]
    );
    assert_eq!(store.list_flows(&fresh()).await.unwrap(), vec![]);
    assert_eq!(
        store.get_flow(&one.id, &charlie.id).await.unwrap(),
        Some(charlie.clone())
    );
    assert_eq!(
        store.get_flow(&two.id, &other.id).await.unwrap(),
        Some(other.clone())
    );
    assert_eq!(store.get_flow(&two.id, &alpha.id).await.unwrap(), None);
    assert_eq!(store.get_flow(&one.id, &other.id).await.unwrap(), None);
    assert_eq!(store.get_flow(&one.id, &fresh()).await.unwrap(), None);

    // Names are unique within an instance.
    assert!(
        store
            .insert_flow(&flow(&one, "Alpha", T0 + 5))
            .await
            .is_err()
    );
    let renamed = Flow {
        name: "Delta".into(),
        status: "SAVED".into(),
        content: "{}".into(),
        modified_ms: T0 + 6,
        ..alpha.clone()
    };
    assert!(store.update_flow(&renamed).await.unwrap());
    assert_eq!(
        store.get_flow(&one.id, &alpha.id).await.unwrap(),
        Some(renamed)
    );
    let elsewhere = Flow {
        instance_id: two.id.clone(),
        ..bravo.clone()
    };
    assert!(
        !store.update_flow(&elsewhere).await.unwrap(),
        "scoped to its instance"
    );
    assert!(!store.delete_flow(&two.id, &bravo.id).await.unwrap());
    assert!(store.delete_flow(&one.id, &bravo.id).await.unwrap());
    assert_eq!(store.get_flow(&one.id, &bravo.id).await.unwrap(), None);
    assert!(!store.delete_flow(&one.id, &bravo.id).await.unwrap());
}

async fn queues_are_inserted_and_listed_by_name(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let support = fresh();
    let basic = fresh();
    let sales = fresh();
    for queue in [
        organisation::standard_queue(&one.id, &support, "Support", Some("help desk"), T0),
        organisation::standard_queue(&one.id, &basic, "BasicQueue", Some("default"), T0 + 1),
        organisation::standard_queue(&two.id, &sales, "Sales", None, T0 + 2),
    ] {
        assert!(store.create_queue(&queue).await.unwrap());
    }
    assert_eq!(
        store.list_queues(&one.id).await.unwrap(),
        vec![
            (basic, "BasicQueue".to_string()),
            (support, "Support".to_string())
        ]
    );
    assert_eq!(
        store.list_queues(&two.id).await.unwrap(),
        vec![(sales, "Sales".to_string())]
    );
    assert!(store.list_queues(&fresh()).await.unwrap().is_empty());
}

async fn create_chat_writes_contact_customer_token_and_items(store: &dyn Store) {
    let (chat, items) = start_chat(store, |customer| {
        vec![
            joined(customer, T0),
            message(customer, T0 + 1, "first"),
            message(customer, T0 + 2, "second"),
        ]
    })
    .await;
    let id = &chat.contact.id;
    assert_eq!(seqs(&items), vec![1, 2, 3]);
    for (written, sent) in items.iter().zip(&chat.items) {
        assert_eq!(&written.contact_id, id);
        assert_eq!(&written.item, sent);
    }
    assert_eq!(
        contact(store, id).await,
        Contact {
            last_seq: 3,
            ..chat.contact.clone()
        }
    );
    assert_eq!(
        participant(store, &chat.customer).await,
        Some(chat.customer.clone())
    );
    assert_eq!(
        store.list_participants(id).await.unwrap(),
        vec![chat.customer.clone()]
    );
    assert_eq!(
        stored_token(store, &chat.customer_token.hash).await,
        Some(chat.customer_token.clone())
    );
    assert_eq!(store.items_after(id, 0, 100).await.unwrap(), items);

    // A chat without initial items starts an empty log.
    let (empty, none) = start_chat(store, |_| Vec::new()).await;
    assert!(none.is_empty());
    assert_eq!(contact(store, &empty.contact.id).await.last_seq, 0);
    assert!(
        store
            .items_after(&empty.contact.id, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn create_chat_replays_a_client_token_without_writing(store: &dyn Store) {
    let instance = new_instance(store).await;
    let key = client_token("StartChatContact", "first-hash");
    let mut first = new_chat(&instance.id);
    first.items = vec![joined(&first.customer, T0)];
    first.client_token = Some(key.clone());
    create(store, first.clone()).await;

    // Same scope and token, different request: answered from the first, nothing written.
    let mut second = new_chat(&instance.id);
    second.items = vec![joined(&second.customer, T0 + 1)];
    second.client_token = Some(ClientTokenKey {
        request_hash: "second-hash".into(),
        ..key.clone()
    });
    assert_eq!(
        store.create_chat(second.clone()).await.unwrap(),
        CreateChat::Replayed(Replay {
            request_hash: "first-hash".into(),
            result: first.contact.id.clone(),
        })
    );
    assert_eq!(store.get_contact(&second.contact.id).await.unwrap(), None);
    assert_eq!(participant(store, &second.customer).await, None);
    assert!(
        store
            .list_participants(&second.contact.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(stored_token(store, &second.customer_token.hash).await, None);
    assert_eq!(
        store
            .find_item(&second.contact.id, &second.items[0].id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(contact(store, &first.contact.id).await.last_seq, 1);

    // The same token in another scope is a different key.
    let mut third = new_chat(&instance.id);
    third.client_token = Some(ClientTokenKey {
        scope: format!("StartChatContact:{}", fresh()),
        ..key
    });
    create(store, third.clone()).await;
    assert!(
        store
            .get_contact(&third.contact.id)
            .await
            .unwrap()
            .is_some()
    );
}

async fn tokens_are_found_by_hash(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let found = stored_token(store, &chat.customer_token.hash)
        .await
        .expect("customer token");
    assert_eq!(found.kind, TokenKind::Participant);
    assert_eq!(found.participant_id, chat.customer.id);
    assert_eq!(found.contact_id, chat.contact.id);
    assert_eq!(found.expires_ms, Some(T0 + 25 * HOUR_MS));
    assert_eq!(found, chat.customer_token);
    assert_eq!(
        stored_token(store, &format!("hash-{}", fresh())).await,
        None
    );
}

async fn insert_tokens_stores_all_or_nothing(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let token = |kind: TokenKind, expires_ms: Option<i64>| TokenRecord {
        hash: format!("hash-{}", fresh()),
        kind,
        participant_id: chat.customer.id.clone(),
        contact_id: chat.contact.id.clone(),
        expires_ms,
    };
    let connection = token(TokenKind::Connection, None);
    let websocket = token(TokenKind::WebSocket, Some(T0 + 100));
    store
        .insert_tokens(&[connection.clone(), websocket.clone()])
        .await
        .unwrap();
    assert_eq!(
        stored_token(store, &connection.hash).await,
        Some(connection.clone())
    );
    assert_eq!(
        stored_token(store, &websocket.hash).await,
        Some(websocket.clone())
    );

    // A batch that fails part-way (a hash already stored) stores none of its tokens.
    let innocent = token(TokenKind::Connection, Some(T0 + 200));
    let duplicate = TokenRecord {
        kind: TokenKind::Participant,
        ..connection.clone()
    };
    assert!(
        store
            .insert_tokens(&[innocent.clone(), duplicate])
            .await
            .is_err()
    );
    assert_eq!(stored_token(store, &innocent.hash).await, None);
    assert_eq!(
        stored_token(store, &connection.hash).await,
        Some(connection)
    );
}

async fn append_continues_the_sequence_without_gaps(store: &dyn Store) {
    let (chat, initial) =
        start_chat(store, |c| vec![joined(c, T0), message(c, T0 + 1, "one")]).await;
    let id = &chat.contact.id;
    assert_eq!(seqs(&initial), vec![1, 2]);
    let single = append_ok(store, id, vec![message(&chat.customer, T0 + 2, "two")]).await;
    assert_eq!(seqs(&single), vec![3]);
    let batch_items = vec![
        message(&chat.customer, T0 + 3, "three"),
        typing(&chat.customer, T0 + 4),
        message(&chat.customer, T0 + 5, "four"),
    ];
    let batch = append_ok(store, id, batch_items.clone()).await;
    assert_eq!(seqs(&batch), vec![4, 5, 6]);
    for (written, sent) in batch.iter().zip(&batch_items) {
        assert_eq!(&written.contact_id, id);
        assert_eq!(&written.item, sent);
    }
    // An append without items writes nothing and takes no numbers.
    assert_eq!(append_ok(store, id, Vec::new()).await, vec![]);
    let last = append_ok(store, id, vec![message(&chat.customer, T0 + 6, "five")]).await;
    assert_eq!(seqs(&last), vec![7]);
    assert_eq!(contact(store, id).await.last_seq, 7);
    let all = store.items_after(id, 0, 100).await.unwrap();
    assert_eq!(seqs(&all), (1..=7).collect::<Vec<_>>());
    let mut expected = initial;
    expected.extend(single);
    expected.extend(batch);
    expected.extend(last);
    assert_eq!(all, expected);
}

async fn concurrent_appends_get_distinct_gapless_seqs(store: &Arc<dyn Store>) {
    const TASKS: usize = 8;
    const APPENDS: usize = 25;
    let (chat, initial) = start_chat(&**store, |c| vec![joined(c, T0)]).await;
    assert_eq!(seqs(&initial), vec![1]);
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(store);
        let customer = chat.customer.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for n in 0..APPENDS {
                let item = message(&customer, T0 + 1, &format!("task {task} message {n}"));
                let written = append_ok(&*store, &customer.contact_id, vec![item]).await;
                assert_eq!(written.len(), 1);
                mine.push(written[0].clone());
            }
            mine
        }));
    }
    let mut returned = Vec::new();
    for handle in handles {
        let mine = handle.await.expect("append task");
        // One task's appends are ordered among themselves.
        assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq), "{mine:?}");
        returned.extend(mine);
    }
    let total = (1 + TASKS * APPENDS) as i64;
    let mut returned_seqs = seqs(&returned);
    returned_seqs.sort_unstable();
    assert_eq!(returned_seqs, (2..=total).collect::<Vec<_>>());
    let stored = store
        .items_after(&chat.contact.id, 0, 10_000)
        .await
        .unwrap();
    assert_eq!(seqs(&stored), (1..=total).collect::<Vec<_>>());
    returned.sort_by_key(|i| i.seq);
    assert_eq!(&stored[1..], &returned[..]);
    assert_eq!(contact(&**store, &chat.contact.id).await.last_seq, total);
}

async fn append_replays_a_client_token_without_writing(store: &dyn Store) {
    let (chat, _) = start_chat(store, |c| vec![joined(c, T0)]).await;
    let id = &chat.contact.id;
    let key = client_token(&format!("SendMessage:{}", chat.customer.id), "first-hash");
    let first_items = vec![
        message(&chat.customer, T0 + 1, "once"),
        message(&chat.customer, T0 + 2, "and again"),
    ];
    let first = store
        .append(Append {
            contact_id: id.clone(),
            items: first_items.clone(),
            client_token: Some(key.clone()),
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(matches!(&first, Appended::Written(items) if seqs(items) == vec![2, 3]));

    let retry_item = message(&chat.customer, T0 + 3, "retry");
    assert_eq!(
        store
            .append(Append {
                contact_id: id.clone(),
                items: vec![retry_item.clone()],
                client_token: Some(ClientTokenKey {
                    request_hash: "second-hash".into(),
                    ..key.clone()
                }),
                end_contact_at: Some(T0 + 3),
                participant_left: Some((chat.customer.id.clone(), T0 + 3)),
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::Replayed(Replay {
            request_hash: "first-hash".into(),
            result: first_items[0].id.clone(),
        })
    );
    assert_eq!(store.find_item(id, &retry_item.id).await.unwrap(), None);
    let after = contact(store, id).await;
    assert_eq!(after.last_seq, 3);
    assert_eq!(after.state, ContactState::Open);
    assert_eq!(after.ended_ms, None);
    assert_eq!(
        participant(store, &chat.customer).await,
        Some(chat.customer.clone())
    );

    // The same token in another scope is a different key.
    let other = store
        .append(Append {
            contact_id: id.clone(),
            items: vec![retry_item.clone()],
            client_token: Some(ClientTokenKey {
                scope: format!("SendEvent:{}", fresh()),
                ..key
            }),
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(matches!(&other, Appended::Written(items) if seqs(items) == vec![4]));
}

async fn concurrent_retries_of_one_client_token_write_once(store: &Arc<dyn Store>) {
    const RETRIES: usize = 8;
    // StartChatContact retried concurrently: one chat is created, every other call replays it.
    let instance = new_instance(&**store).await;
    let key = client_token("StartChatContact", "h");
    let mut handles = Vec::new();
    for _ in 0..RETRIES {
        let store = Arc::clone(store);
        let mut chat = new_chat(&instance.id);
        chat.items = vec![joined(&chat.customer, T0)];
        chat.client_token = Some(key.clone());
        handles.push(tokio::spawn(async move {
            let id = chat.contact.id.clone();
            (id, store.create_chat(chat).await.expect("create chat"))
        }));
    }
    let mut created = Vec::new();
    let mut replayed = Vec::new();
    for handle in handles {
        match handle.await.expect("create task") {
            (id, CreateChat::Created(_)) => created.push(id),
            (id, CreateChat::Replayed(replay)) => replayed.push((id, replay)),
        }
    }
    assert_eq!(created.len(), 1, "created {created:?}");
    for (id, replay) in &replayed {
        assert_eq!(replay.result, created[0]);
        assert_eq!(store.get_contact(id).await.unwrap(), None);
    }

    // SendMessage retried concurrently: one item is written, every other call replays it.
    let (chat, _) = start_chat(&**store, |c| vec![joined(c, T0)]).await;
    let key = client_token("SendMessage", "h");
    let mut handles = Vec::new();
    for _ in 0..RETRIES {
        let store = Arc::clone(store);
        let append = Append {
            contact_id: chat.contact.id.clone(),
            items: vec![message(&chat.customer, T0 + 1, "once")],
            client_token: Some(key.clone()),
            ..Append::default()
        };
        handles.push(tokio::spawn(async move {
            store.append(append).await.expect("append")
        }));
    }
    let mut written = Vec::new();
    let mut replays = Vec::new();
    for handle in handles {
        match handle.await.expect("append task") {
            Appended::Written(items) => written.push(items),
            Appended::Replayed(replay) => replays.push(replay),
            Appended::ContactClosed => panic!("contact closed"),
        }
    }
    assert_eq!(written.len(), 1, "written {written:?}");
    assert_eq!(seqs(&written[0]), vec![2]);
    assert!(replays.iter().all(|r| r.result == written[0][0].item.id));
    assert_eq!(contact(&**store, &chat.contact.id).await.last_seq, 2);
}

async fn append_to_an_unknown_or_ended_contact_is_closed(store: &dyn Store) {
    let (chat, _) = start_chat(store, |c| vec![joined(c, T0)]).await;
    let stray = message(&chat.customer, T0 + 1, "nobody home");
    assert_eq!(
        store
            .append(Append {
                contact_id: fresh(),
                items: vec![stray.clone()],
                client_token: Some(client_token("SendMessage", "h")),
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::ContactClosed
    );

    let ended = store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            end_contact_at: Some(T0 + 2),
            ..Append::default()
        })
        .await
        .unwrap();
    assert_eq!(ended, Appended::Written(Vec::new()));
    assert_eq!(
        store
            .append(Append {
                contact_id: chat.contact.id.clone(),
                items: vec![stray.clone()],
                client_token: Some(client_token("SendMessage", "h")),
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::ContactClosed
    );
    assert_eq!(
        store.find_item(&chat.contact.id, &stray.id).await.unwrap(),
        None
    );
    assert_eq!(contact(store, &chat.contact.id).await.last_seq, 1);
}

async fn ending_a_contact_closes_it_and_every_participant(store: &dyn Store) {
    let (chat, _) = start_chat(store, |c| vec![joined(c, T0)]).await;
    let id = &chat.contact.id;
    let ended_at = T0 + 10 * 60 * 1000;
    let ending = store
        .append(Append {
            contact_id: id.clone(),
            items: vec![NewItem::new(
                ItemType::Event,
                "application/vnd.amazonaws.connect.event.chat.ended",
                None,
                ended_at,
            )],
            end_contact_at: Some(ended_at),
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(matches!(&ending, Appended::Written(items) if seqs(items) == vec![2]));
    let after = contact(store, id).await;
    assert_eq!(after.state, ContactState::Ended);
    assert!(!after.is_open());
    assert_eq!(after.ended_ms, Some(ended_at));
    assert_eq!(after.last_seq, 2);
    let participants = store.list_participants(id).await.unwrap();
    assert_eq!(participants.len(), 1);
    assert!(participants.iter().all(|p| p.left_ms == Some(ended_at)));
    assert_eq!(
        participant(store, &chat.customer).await,
        Some(Participant {
            left_ms: Some(ended_at),
            ..chat.customer.clone()
        })
    );
    assert_eq!(
        store
            .append(Append {
                contact_id: id.clone(),
                items: vec![message(&chat.customer, ended_at + 1, "too late")],
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::ContactClosed
    );
    // Ending again is refused too, and does not move the end time.
    assert_eq!(
        store
            .append(Append {
                contact_id: id.clone(),
                end_contact_at: Some(ended_at + 5),
                ..Append::default()
            })
            .await
            .unwrap(),
        Appended::ContactClosed
    );
    assert_eq!(contact(store, id).await.ended_ms, Some(ended_at));
    assert_eq!(store.items_after(id, 0, 100).await.unwrap().len(), 2);

    // A participant who left earlier keeps the time they left.
    let (other, _) = start_chat(store, |_| Vec::new()).await;
    append_left(store, &other, T0 + 1).await;
    store
        .append(Append {
            contact_id: other.contact.id.clone(),
            end_contact_at: Some(T0 + 9),
            ..Append::default()
        })
        .await
        .unwrap();
    assert_eq!(
        participant(store, &other.customer).await.unwrap().left_ms,
        Some(T0 + 1)
    );
}

async fn append_left(store: &dyn Store, chat: &NewChat, at_ms: i64) {
    let left = store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            items: vec![NewItem::new(
                ItemType::Event,
                "application/vnd.amazonaws.connect.event.participant.left",
                Some(&chat.customer),
                at_ms,
            )],
            participant_left: Some((chat.customer.id.clone(), at_ms)),
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(matches!(left, Appended::Written(ref items) if items.len() == 1));
}

async fn participant_left_marks_only_that_participant(store: &dyn Store) {
    // The trait can only create a contact's customer, so the bystander is another contact's.
    let instance = new_instance(store).await;
    let leaving = new_chat(&instance.id);
    let staying = new_chat(&instance.id);
    create(store, leaving.clone()).await;
    create(store, staying.clone()).await;
    append_left(store, &leaving, T0 + 7).await;
    assert_eq!(
        participant(store, &leaving.customer).await,
        Some(Participant {
            left_ms: Some(T0 + 7),
            ..leaving.customer.clone()
        })
    );
    assert!(
        participant(store, &leaving.customer)
            .await
            .unwrap()
            .has_left()
    );
    assert_eq!(
        participant(store, &staying.customer).await,
        Some(staying.customer.clone())
    );
    // Leaving does not end the contact.
    let after = contact(store, &leaving.contact.id).await;
    assert_eq!(after.state, ContactState::Open);
    assert_eq!(after.ended_ms, None);
    assert_eq!(after.last_seq, 1);
    assert_eq!(contact(store, &staying.contact.id).await.last_seq, 0);
}

async fn merge_attributes_merges_replaces_and_enforces_the_limit(store: &dyn Store) {
    let instance = new_instance(store).await;
    let mut chat = new_chat(&instance.id);
    chat.contact.attributes = BTreeMap::from([
        ("a".to_string(), "1".to_string()),
        ("b".to_string(), "2".to_string()),
    ]);
    create(store, chat.clone()).await;
    let id = &chat.contact.id;
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };

    assert_eq!(
        store
            .merge_attributes(id, &map(&[("b", "22"), ("c", "3")]), 1000)
            .await
            .unwrap(),
        MergedAttributes::Merged
    );
    let merged = map(&[("a", "1"), ("b", "22"), ("c", "3")]);
    assert_eq!(contact(store, id).await.attributes, merged);

    // Sizes count UTF-8 bytes of keys and values: here 7 + 1 + 10 ("é" is two bytes) = 18.
    let big = map(&[("d", "éxxxxxxxx")]);
    assert_eq!(
        store.merge_attributes(id, &big, 17).await.unwrap(),
        MergedAttributes::TooLarge { total_bytes: 18 }
    );
    assert_eq!(contact(store, id).await.attributes, merged);
    // Exactly at the limit is allowed.
    assert_eq!(
        store.merge_attributes(id, &big, 18).await.unwrap(),
        MergedAttributes::Merged
    );
    let with_d = map(&[("a", "1"), ("b", "22"), ("c", "3"), ("d", "éxxxxxxxx")]);
    assert_eq!(contact(store, id).await.attributes, with_d);
    // The limit applies to the result: replacing a long value with a short one shrinks it.
    assert_eq!(
        store
            .merge_attributes(id, &map(&[("d", "x"), ("e", "5")]), 11)
            .await
            .unwrap(),
        MergedAttributes::Merged
    );
    assert_eq!(
        contact(store, id).await.attributes,
        map(&[("a", "1"), ("b", "22"), ("c", "3"), ("d", "x"), ("e", "5")])
    );
    // Nothing else about the contact changes.
    assert_eq!(
        contact(store, id).await,
        Contact {
            attributes: map(&[("a", "1"), ("b", "22"), ("c", "3"), ("d", "x"), ("e", "5")]),
            ..chat.contact.clone()
        }
    );
    assert_eq!(
        store
            .merge_attributes(&fresh(), &map(&[("a", "1")]), 1000)
            .await
            .unwrap(),
        MergedAttributes::NoSuchContact
    );
}

async fn items_after_returns_later_items_in_order_up_to_the_limit(store: &dyn Store) {
    let (chat, items) = start_chat(store, |c| {
        (0..5)
            .map(|n| message(c, T0 + n, &format!("m{n}")))
            .collect()
    })
    .await;
    let (other, _) = start_chat(store, |c| vec![message(c, T0, "elsewhere")]).await;
    let id = &chat.contact.id;
    assert_eq!(store.items_after(id, 0, 100).await.unwrap(), items);
    assert_eq!(store.items_after(id, 2, 100).await.unwrap(), items[2..]);
    assert_eq!(store.items_after(id, 1, 2).await.unwrap(), items[1..3]);
    assert_eq!(store.items_after(id, 0, 1).await.unwrap(), items[..1]);
    assert!(store.items_after(id, 5, 100).await.unwrap().is_empty());
    assert!(store.items_after(id, 99, 100).await.unwrap().is_empty());
    assert!(
        store
            .items_after(&fresh(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = store.items_after(&other.contact.id, 0, 100).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].contact_id, other.contact.id);
}

async fn find_item_is_scoped_to_its_contact(store: &dyn Store) {
    let (chat, items) = start_chat(store, |c| {
        vec![joined(c, T0), message(c, T0 + 1, "find me")]
    })
    .await;
    let (other, _) = start_chat(store, |c| vec![joined(c, T0)]).await;
    let id = &chat.contact.id;
    assert_eq!(
        store.find_item(id, &items[1].item.id).await.unwrap(),
        Some(items[1].clone())
    );
    assert_eq!(
        store.find_item(id, &items[0].item.id).await.unwrap(),
        Some(items[0].clone())
    );
    assert_eq!(
        store
            .find_item(&other.contact.id, &items[1].item.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.find_item(id, &fresh()).await.unwrap(), None);
    // Typing events are found by id too: find_item is not a transcript lookup.
    let typed = append_ok(store, id, vec![typing(&chat.customer, T0 + 2)]).await;
    assert_eq!(
        store.find_item(id, &typed[0].item.id).await.unwrap(),
        Some(typed[0].clone())
    );
}

/// A contact whose log is: 1 message @1000, 2 typing @2000, 3 message @3000, 4 typing @4000,
/// 5 message @5000, 6 typing @6000 (times relative to T0).
async fn transcript_fixture(store: &dyn Store) -> (NewChat, Vec<ChatItem>) {
    start_chat(store, |c| {
        vec![
            message(c, T0 + 1000, "one"),
            typing(c, T0 + 2000),
            message(c, T0 + 3000, "three"),
            typing(c, T0 + 4000),
            message(c, T0 + 5000, "five"),
            typing(c, T0 + 6000),
        ]
    })
    .await
}

async fn transcript_anchor_resolves_ids_times_and_recency(store: &dyn Store) {
    use ParticipantRole::Customer;
    use ScanDirection::{Backward, Forward};
    let (chat, items) = transcript_fixture(store).await;
    let (other, other_items) = transcript_fixture(store).await;
    let id = &chat.contact.id;
    let anchor = |a: Anchor, d: ScanDirection| async move {
        store.transcript_anchor(id, &a, d, Customer).await.unwrap()
    };
    let by_id = |n: usize| Anchor::Id(items[n].item.id.clone());

    // By id, in either direction; a typing item or another contact's item is no anchor.
    assert_eq!(anchor(by_id(2), Forward).await, Some(3));
    assert_eq!(anchor(by_id(2), Backward).await, Some(3));
    assert_eq!(anchor(by_id(0), Forward).await, Some(1));
    assert_eq!(anchor(by_id(1), Forward).await, None);
    assert_eq!(anchor(Anchor::Id(fresh()), Forward).await, None);
    assert_eq!(
        anchor(Anchor::Id(other_items[2].item.id.clone()), Forward).await,
        None
    );
    assert_eq!(
        store
            .transcript_anchor(
                &other.contact.id,
                &Anchor::Id(other_items[2].item.id.clone()),
                Forward,
                Customer
            )
            .await
            .unwrap(),
        Some(3)
    );

    // By time: forward is the first at or after, backward the last at or before.
    let at = |ms: i64| Anchor::Time(T0 + ms);
    assert_eq!(anchor(at(3000), Forward).await, Some(3));
    assert_eq!(anchor(at(3000), Backward).await, Some(3));
    assert_eq!(anchor(at(2000), Forward).await, Some(3));
    assert_eq!(anchor(at(2000), Backward).await, Some(1));
    assert_eq!(anchor(at(4500), Forward).await, Some(5));
    assert_eq!(anchor(at(4500), Backward).await, Some(3));
    assert_eq!(anchor(at(0), Forward).await, Some(1));
    assert_eq!(anchor(at(0), Backward).await, None);
    assert_eq!(anchor(at(5001), Forward).await, None);
    assert_eq!(anchor(at(9000), Backward).await, Some(5));

    // By recency: 0 is the newest transcript item.
    assert_eq!(anchor(Anchor::MostRecent(0), Backward).await, Some(5));
    assert_eq!(anchor(Anchor::MostRecent(0), Forward).await, Some(5));
    assert_eq!(anchor(Anchor::MostRecent(1), Backward).await, Some(3));
    assert_eq!(anchor(Anchor::MostRecent(2), Forward).await, Some(1));
    assert_eq!(anchor(Anchor::MostRecent(3), Backward).await, None);

    // An empty or unknown contact has no anchors.
    let (empty, _) = start_chat(store, |_| Vec::new()).await;
    assert_eq!(
        store
            .transcript_anchor(
                &empty.contact.id,
                &Anchor::MostRecent(0),
                Backward,
                Customer
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .transcript_anchor(&fresh(), &Anchor::Time(T0), Forward, Customer)
            .await
            .unwrap(),
        None
    );
}

async fn transcript_page_scans_both_ways_skipping_non_transcript_items(store: &dyn Store) {
    use ParticipantRole::Customer;
    use ScanDirection::{Backward, Forward};
    let (chat, items) = transcript_fixture(store).await;
    transcript_fixture(store).await; // Another contact's items never show up.
    let id = &chat.contact.id;
    let page = |d: ScanDirection, from: Option<i64>, limit: u32| async move {
        seqs(
            &store
                .transcript_page(id, d, from, limit, Customer)
                .await
                .unwrap(),
        )
    };

    assert_eq!(page(Forward, None, 10).await, vec![1, 3, 5]);
    assert_eq!(page(Forward, None, 2).await, vec![1, 3]);
    assert_eq!(page(Forward, Some(3), 10).await, vec![3, 5]);
    assert_eq!(page(Forward, Some(2), 1).await, vec![3]);
    assert_eq!(page(Forward, Some(5), 10).await, vec![5]);
    assert_eq!(page(Forward, Some(6), 10).await, Vec::<i64>::new());
    assert_eq!(page(Backward, None, 10).await, vec![5, 3, 1]);
    assert_eq!(page(Backward, None, 2).await, vec![5, 3]);
    assert_eq!(page(Backward, Some(3), 10).await, vec![3, 1]);
    assert_eq!(page(Backward, Some(4), 1).await, vec![3]);
    assert_eq!(page(Backward, Some(1), 10).await, vec![1]);
    assert_eq!(page(Backward, Some(0), 10).await, Vec::<i64>::new());

    // Pages carry the items themselves, of this contact only.
    let full = store
        .transcript_page(id, Forward, None, 10, Customer)
        .await
        .unwrap();
    assert_eq!(
        full,
        vec![items[0].clone(), items[2].clone(), items[4].clone()]
    );
    let empty = store
        .transcript_page(&fresh(), Backward, None, 10, Customer)
        .await
        .unwrap();
    assert!(empty.is_empty());
}

async fn transcripts_show_each_side_only_its_own_whispers(store: &dyn Store) {
    use ParticipantRole::{Agent, Customer};
    use ScanDirection::{Backward, Forward};
    let only = |role: ParticipantRole, item: NewItem| NewItem {
        visible_to: Some(role),
        ..item
    };
    let (chat, items) = start_chat(store, |c| {
        vec![
            message(c, T0 + 1000, "for everyone"),
            only(Agent, message(c, T0 + 2000, "agent whisper")),
            only(Customer, message(c, T0 + 3000, "customer whisper")),
            message(c, T0 + 4000, "for everyone again"),
        ]
    })
    .await;
    let id = &chat.contact.id;
    let page = |viewer: ParticipantRole, d: ScanDirection| async move {
        seqs(
            &store
                .transcript_page(id, d, None, 10, viewer)
                .await
                .unwrap(),
        )
    };
    assert_eq!(page(Customer, Forward).await, vec![1, 3, 4]);
    assert_eq!(page(Agent, Forward).await, vec![1, 2, 4]);
    assert_eq!(page(Agent, Backward).await, vec![4, 2, 1]);
    assert_eq!(page(ParticipantRole::CustomBot, Forward).await, vec![1, 4]);
    let anchor = |viewer: ParticipantRole, a: Anchor| async move {
        store
            .transcript_anchor(id, &a, Backward, viewer)
            .await
            .unwrap()
    };
    let agent_only = Anchor::Id(items[1].item.id.clone());
    assert_eq!(anchor(Agent, agent_only.clone()).await, Some(2));
    assert_eq!(anchor(Customer, agent_only).await, None);
    assert_eq!(anchor(Customer, Anchor::MostRecent(1)).await, Some(3));
    assert_eq!(anchor(Agent, Anchor::MostRecent(1)).await, Some(2));
    assert_eq!(anchor(Customer, Anchor::Time(T0 + 2500)).await, Some(1));
    // The log keeps every item with its visibility, for the sockets to filter.
    let stored = store.items_after(id, 0, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|i| i.item.visible_to).collect::<Vec<_>>(),
        vec![None, Some(Agent), Some(Customer), None]
    );
}

async fn items_round_trip_every_field(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = &chat.contact.id;
    let extra = json!({
        "MessageMetadata": {
            "MessageId": "m-1",
            "Receipts": [{"DeliveredTimestamp": "2023-11-14T22:13:20.000Z", "RecipientParticipantId": "p"}]
        },
        "Attachments": [{"AttachmentId": "a", "AttachmentName": "ünïcødé.pdf", "Status": "APPROVED"}],
        "Number": 1.5,
        "Flag": false,
        "Nothing": null
    });
    let full = |item_type: ItemType, role: ParticipantRole, n: i64| NewItem {
        id: fresh(),
        item_type,
        content_type: Some(format!("application/x-test-{n}")),
        content: Some(format!("line one\nline \"two\" ✓ {n}")),
        participant_id: Some(fresh()),
        display_name: Some(format!("Name {n}")),
        role: Some(role),
        absolute_ms: T0 + n,
        extra: extra.as_object().cloned(),
        in_transcript: true,
        visible_to: (n == 5).then_some(ParticipantRole::Agent),
    };
    let sent = vec![
        full(ItemType::Message, ParticipantRole::Agent, 1),
        full(ItemType::Event, ParticipantRole::Customer, 2),
        full(ItemType::Attachment, ParticipantRole::System, 3),
        full(ItemType::MessageMetadata, ParticipantRole::CustomBot, 4),
        full(ItemType::Message, ParticipantRole::Supervisor, 5),
        // Every optional field absent.
        NewItem {
            id: fresh(),
            item_type: ItemType::Event,
            content_type: None,
            content: None,
            participant_id: None,
            display_name: None,
            role: None,
            absolute_ms: T0 + 6,
            extra: None,
            in_transcript: false,
            visible_to: None,
        },
        // Present but empty.
        NewItem {
            content: Some(String::new()),
            display_name: Some(String::new()),
            extra: Some(serde_json::Map::new()),
            ..full(ItemType::Message, ParticipantRole::Customer, 7)
        },
    ];
    let written = append_ok(store, id, sent.clone()).await;
    let stored = store.items_after(id, 0, 100).await.unwrap();
    assert_eq!(stored, written);
    assert_eq!(stored.len(), sent.len());
    for ((stored, sent), seq) in stored.iter().zip(&sent).zip(1..) {
        assert_eq!(stored.contact_id, *id);
        assert_eq!(stored.seq, seq);
        assert_eq!(&stored.item, sent);
        assert_eq!(
            store.find_item(id, &sent.id).await.unwrap().as_ref(),
            Some(stored)
        );
    }
    assert_eq!(
        stored[0].item.extra.as_ref().map(|m| m["Number"].clone()),
        Some(json!(1.5))
    );
}

async fn open_contact_deadlines_lists_only_open_contacts(store: &dyn Store) {
    let instance = new_instance(store).await;
    let mut open = new_chat(&instance.id);
    open.contact.expires_ms = T0 + 3 * HOUR_MS;
    let mut ending = new_chat(&instance.id);
    ending.contact.expires_ms = T0 + 4 * HOUR_MS;
    create(store, open.clone()).await;
    create(store, ending.clone()).await;
    let deadlines = store.open_contact_deadlines().await.unwrap();
    assert!(deadlines.contains(&(open.contact.id.clone(), T0 + 3 * HOUR_MS)));
    assert!(deadlines.contains(&(ending.contact.id.clone(), T0 + 4 * HOUR_MS)));

    store
        .append(Append {
            contact_id: ending.contact.id.clone(),
            end_contact_at: Some(T0 + 5),
            ..Append::default()
        })
        .await
        .unwrap();
    let deadlines = store.open_contact_deadlines().await.unwrap();
    assert!(deadlines.contains(&(open.contact.id.clone(), T0 + 3 * HOUR_MS)));
    assert!(!deadlines.iter().any(|(id, _)| *id == ending.contact.id));
    assert_eq!(
        deadlines
            .iter()
            .filter(|(id, _)| *id == open.contact.id)
            .count(),
        1
    );
}

async fn due_contacts_are_open_and_overdue_oldest_first(store: &dyn Store) {
    let instance = new_instance(store).await;
    // Far in the past, so that no other check's contacts are due before these.
    let mut later = new_chat(&instance.id);
    later.contact.expires_ms = 20;
    let mut earlier = new_chat(&instance.id);
    earlier.contact.expires_ms = 10;
    let mut future = new_chat(&instance.id);
    future.contact.expires_ms = 40;
    let mut ended = new_chat(&instance.id);
    ended.contact.expires_ms = 5;
    for chat in [&later, &earlier, &future, &ended] {
        create(store, chat.clone()).await;
    }
    store
        .append(Append {
            contact_id: ended.contact.id.clone(),
            end_contact_at: Some(T0),
            ..Append::default()
        })
        .await
        .unwrap();
    let due = store.due_contacts(30, 2).await.unwrap();
    assert_eq!(
        due,
        vec![earlier.contact.id.clone(), later.contact.id.clone()]
    );
    assert_eq!(
        store.due_contacts(30, 1).await.unwrap(),
        vec![earlier.contact.id.clone()]
    );
}

async fn last_seqs_and_open_counts_follow_the_log(store: &dyn Store) {
    let instance = new_instance(store).await;
    let mut chat = new_chat(&instance.id);
    chat.items = vec![joined(&chat.customer, T0)];
    create(store, chat.clone()).await;
    let before = store.count_open_contacts().await.unwrap();
    assert!(before >= 1);
    store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            items: vec![
                message(&chat.customer, T0 + 1, "a"),
                message(&chat.customer, T0 + 2, "b"),
            ],
            ..Append::default()
        })
        .await
        .unwrap();
    let ids = vec![chat.contact.id.clone(), "no-such-contact".to_string()];
    assert_eq!(
        store.last_seqs(&ids).await.unwrap(),
        vec![(chat.contact.id.clone(), 3)]
    );
    let many: Vec<String> = (0..1200)
        .map(|n| format!("missing-{n}"))
        .chain([chat.contact.id.clone()])
        .collect();
    assert_eq!(
        store.last_seqs(&many).await.unwrap(),
        vec![(chat.contact.id.clone(), 3)],
        "ids beyond one statement's worth"
    );
    store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            end_contact_at: Some(T0 + 3),
            ..Append::default()
        })
        .await
        .unwrap();
    assert_eq!(store.count_open_contacts().await.unwrap(), before - 1);
}

async fn token_holders_come_with_their_participant_and_contact(store: &dyn Store) {
    let instance = new_instance(store).await;
    let chat = new_chat(&instance.id);
    create(store, chat.clone()).await;
    let holder = store
        .token_holder(&chat.customer_token.hash)
        .await
        .unwrap()
        .expect("the customer's token");
    assert_eq!(holder.token, chat.customer_token);
    assert_eq!(holder.participant, chat.customer);
    assert_eq!(holder.contact.id, chat.contact.id);
    assert_eq!(holder.contact.attributes, chat.contact.attributes);
    assert!(store.token_holder("no-such-hash").await.unwrap().is_none());
    store
        .append(Append {
            contact_id: chat.contact.id.clone(),
            end_contact_at: Some(T0 + 9),
            ..Append::default()
        })
        .await
        .unwrap();
    let holder = store
        .token_holder(&chat.customer_token.hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !holder.contact.is_open(),
        "the holder shows the contact as it is now"
    );
    assert_eq!(holder.participant.left_ms, Some(T0 + 9));
}

/// A custom participant for `contact_id`, added at `at_ms`, not connected.
fn new_bot(contact_id: &str, at_ms: i64) -> NewParticipant {
    let participant = Participant {
        id: fresh(),
        contact_id: contact_id.to_string(),
        role: ParticipantRole::CustomBot,
        display_name: "Bot".into(),
        joined_ms: at_ms,
        left_ms: None,
        connected_ms: None,
    };
    NewParticipant {
        token: TokenRecord {
            hash: format!("hash-{}", fresh()),
            kind: TokenKind::Participant,
            participant_id: participant.id.clone(),
            contact_id: contact_id.to_string(),
            expires_ms: None,
        },
        participant,
        client_token: None,
        connect_cutoff_ms: at_ms - 15_000,
    }
}

async fn custom_participants_are_one_per_contact_and_never_beside_an_agent(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = chat.contact.id.clone();
    let first = new_bot(&id, T0 + 1_000);
    assert_eq!(
        store.add_participant(first.clone()).await.unwrap(),
        AddedParticipant::Added
    );
    let holder = store
        .token_holder(&first.token.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.participant, first.participant);

    // A second one is refused while the first may still connect.
    let second = new_bot(&id, T0 + 2_000);
    assert!(matches!(
        store.add_participant(second.clone()).await.unwrap(),
        AddedParticipant::Refused(CustomParticipantRefusal::AlreadyHasOne(p)) if p.id == first.participant.id
    ));
    assert!(
        store
            .token_holder(&second.token.hash)
            .await
            .unwrap()
            .is_none(),
        "nothing written"
    );

    // Once the first one connects it keeps its place past the connection window.
    let connected = Append {
        contact_id: id.clone(),
        items: vec![joined(&first.participant, T0 + 3_000)],
        participant_connected: Some((first.participant.id.clone(), T0 + 3_000)),
        ..Append::default()
    };
    assert!(matches!(
        store.append(connected).await.unwrap(),
        Appended::Written(_)
    ));
    let late = new_bot(&id, T0 + 60_000);
    assert!(matches!(
        store.add_participant(late).await.unwrap(),
        AddedParticipant::Refused(CustomParticipantRefusal::AlreadyHasOne(p))
            if p.connected_ms == Some(T0 + 3_000)
    ));

    // A bot that never connected loses its place when its window closes.
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = chat.contact.id.clone();
    assert_eq!(
        store.add_participant(new_bot(&id, T0)).await.unwrap(),
        AddedParticipant::Added
    );
    let mut key_bot = new_bot(&id, T0 + 15_000);
    key_bot.client_token = Some(ClientTokenKey {
        scope: format!("CreateParticipant:{id}"),
        token: "ct".into(),
        request_hash: "h".into(),
    });
    assert_eq!(
        store.add_participant(key_bot.clone()).await.unwrap(),
        AddedParticipant::Added
    );
    let retry = NewParticipant {
        participant: Participant {
            id: fresh(),
            ..key_bot.participant.clone()
        },
        ..key_bot.clone()
    };
    assert_eq!(
        store.add_participant(retry).await.unwrap(),
        AddedParticipant::Replayed(Replay {
            request_hash: "h".into(),
            result: key_bot.participant.id.clone(),
        })
    );

    // Never beside an agent, never in an ended chat.
    let (mut chat, _) = start_chat(store, |_| Vec::new()).await;
    chat.customer.id = fresh();
    let agent = Participant {
        role: ParticipantRole::Agent,
        display_name: "Agent".into(),
        ..chat.customer.clone()
    };
    let agent_bot = NewParticipant {
        participant: agent.clone(),
        token: TokenRecord {
            participant_id: agent.id.clone(),
            hash: format!("hash-{}", fresh()),
            ..chat.customer_token.clone()
        },
        client_token: None,
        connect_cutoff_ms: T0,
    };
    // (The store adds whoever it is given; an agent stands in for the routing of a later issue.)
    assert_eq!(
        store.add_participant(agent_bot).await.unwrap(),
        AddedParticipant::Added
    );
    assert!(matches!(
        store.add_participant(new_bot(&chat.contact.id, T0 + 1)).await.unwrap(),
        AddedParticipant::Refused(CustomParticipantRefusal::AgentPresent(p)) if p.id == agent.id
    ));
    let ended = Append {
        contact_id: chat.contact.id.clone(),
        end_contact_at: Some(T0 + 2),
        ..Append::default()
    };
    store.append(ended).await.unwrap();
    assert_eq!(
        store
            .add_participant(new_bot(&chat.contact.id, T0 + 3))
            .await
            .unwrap(),
        AddedParticipant::ContactClosed
    );
}

async fn concurrent_custom_participants_are_added_once(store: &Arc<dyn Store>) {
    let (chat, _) = start_chat(store.as_ref(), |_| Vec::new()).await;
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        let bot = new_bot(&chat.contact.id, T0 + n);
        tokio::spawn(async move { store.add_participant(bot).await.unwrap() })
    });
    let mut added = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            AddedParticipant::Added => added += 1,
            AddedParticipant::Refused(CustomParticipantRefusal::AlreadyHasOne(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, 1);
    let bots = store
        .list_participants(&chat.contact.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.role == ParticipantRole::CustomBot)
        .count();
    assert_eq!(bots, 1);
}

async fn timer_configs_are_stored_on_open_contacts_only(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = chat.contact.id.clone();
    let stored = store.get_contact(&id).await.unwrap().unwrap();
    assert_eq!(stored.timer_config, chat.contact.timer_config);
    let config = TimerConfig {
        customer: RoleTimers {
            idle_minutes: Some(2),
            disconnect_minutes: Some(480),
        },
        agent: RoleTimers {
            idle_minutes: None,
            disconnect_minutes: Some(5),
        },
    };
    assert!(store.set_timer_config(&id, &config).await.unwrap());
    assert_eq!(
        store.get_contact(&id).await.unwrap().unwrap().timer_config,
        config
    );
    store
        .append(Append {
            contact_id: id.clone(),
            end_contact_at: Some(T0 + 1),
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(
        !store
            .set_timer_config(&id, &TimerConfig::default())
            .await
            .unwrap()
    );
    assert!(!store.set_timer_config(&fresh(), &config).await.unwrap());
}

/// A timer update that records what it was given and stores `next` under the session's name.
fn session_update(
    next: Option<(Option<i64>, &str)>,
    extra_items: Vec<NewItem>,
    seen: Arc<std::sync::Mutex<Vec<Option<Timer>>>>,
) -> TimerUpdate {
    let next = next.map(|(due_ms, data)| Timer {
        name: SESSION_TIMER.into(),
        due_ms,
        data: data.to_string(),
        wants_messages: true,
    });
    TimerUpdate {
        name: SESSION_TIMER.into(),
        apply: Arc::new(move |stored| {
            seen.lock().unwrap().push(stored.cloned());
            TimerEffect {
                timer: next.clone(),
                items: extra_items.clone(),
                participants_left: Vec::new(),
            }
        }),
    }
}

async fn timer_updates_read_modify_and_write_with_the_append(store: &dyn Store) {
    let (chat, _) = start_chat(store, |c| vec![joined(c, T0)]).await;
    let id = chat.contact.id.clone();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let put = Append {
        contact_id: id.clone(),
        timer: Some(session_update(
            Some((Some(T0 + 500), "one")),
            Vec::new(),
            seen.clone(),
        )),
        ..Append::default()
    };
    assert!(
        matches!(store.append(put).await.unwrap(), Appended::Written(items) if items.is_empty())
    );
    let contact = store.get_contact(&id).await.unwrap().unwrap();
    assert!(
        contact.watches_messages,
        "the session flag follows the session timer"
    );

    // The update sees what is stored; its items follow the append's own.
    let returned = joined(&chat.customer, T0 + 2);
    let update = Append {
        contact_id: id.clone(),
        items: vec![message(&chat.customer, T0 + 2, "hi")],
        timer: Some(session_update(
            Some((None, "two")),
            vec![returned.clone()],
            seen.clone(),
        )),
        ..Append::default()
    };
    let written = match store.append(update).await.unwrap() {
        Appended::Written(items) => items,
        other => panic!("expected Written, got {other:?}"),
    };
    assert_eq!(seqs(&written), vec![2, 3]);
    assert_eq!(written[1].item, returned);
    assert_eq!(
        seen.lock().unwrap()[1],
        Some(Timer {
            name: SESSION_TIMER.into(),
            due_ms: Some(T0 + 500),
            data: "one".into(),
            wants_messages: true,
        })
    );

    // Deleting it clears the flag; the next update sees nothing.
    let delete = Append {
        contact_id: id.clone(),
        timer: Some(session_update(None, Vec::new(), seen.clone())),
        ..Append::default()
    };
    store.append(delete).await.unwrap();
    assert!(
        !store
            .get_contact(&id)
            .await
            .unwrap()
            .unwrap()
            .watches_messages
    );
    let read = Append {
        contact_id: id.clone(),
        timer: Some(session_update(
            Some((Some(T0 + 9), "three")),
            Vec::new(),
            seen.clone(),
        )),
        ..Append::default()
    };
    store.append(read).await.unwrap();
    assert_eq!(seen.lock().unwrap()[3], None);

    // Ending the contact deletes its timers; a closed contact runs no update.
    store
        .append(Append {
            contact_id: id.clone(),
            end_contact_at: Some(T0 + 10),
            ..Append::default()
        })
        .await
        .unwrap();
    let contact = store.get_contact(&id).await.unwrap().unwrap();
    assert!(!contact.watches_messages);
    let claimed = store
        .claim_due_timers(T0 + 1_000_000, T0 + 2_000_000, 1000)
        .await
        .unwrap();
    assert!(!claimed.iter().any(|(contact_id, _)| *contact_id == id));
    let late = Append {
        contact_id: id.clone(),
        timer: Some(session_update(
            Some((Some(T0), "x")),
            Vec::new(),
            seen.clone(),
        )),
        ..Append::default()
    };
    assert_eq!(store.append(late).await.unwrap(), Appended::ContactClosed);
}

/// Concurrent read-modify-writes of one timer each see the previous one's result: a counter
/// kept in the timer's data ends at the number of updates.
async fn concurrent_timer_updates_see_each_other(store: &Arc<dyn Store>) {
    let (chat, _) = start_chat(store.as_ref(), |_| Vec::new()).await;
    let increment = TimerUpdate {
        name: "counter".into(),
        apply: Arc::new(|stored| {
            let count: i64 = stored.map(|t| t.data.parse().unwrap()).unwrap_or(0);
            TimerEffect {
                timer: Some(Timer {
                    name: "counter".into(),
                    due_ms: None,
                    data: (count + 1).to_string(),
                    wants_messages: false,
                }),
                ..TimerEffect::default()
            }
        }),
    };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            let append = Append {
                contact_id: chat.contact.id.clone(),
                timer: Some(increment.clone()),
                ..Append::default()
            };
            tokio::spawn(async move { store.append(append).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let read = Append {
        contact_id: chat.contact.id.clone(),
        timer: Some(TimerUpdate {
            name: "counter".into(),
            ..session_update(None, Vec::new(), seen.clone())
        }),
        ..Append::default()
    };
    store.append(read).await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].as_ref().map(|t| t.data.as_str()),
        Some("20")
    );
}

async fn due_timers_are_claimed_once_until_their_lease_ends(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = chat.contact.id.clone();
    // Far in the future so other checks' timers are not in the way.
    let due = 4_000_000_000_000;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let put = Append {
        contact_id: id.clone(),
        timer: Some(session_update(
            Some((Some(due), "d")),
            Vec::new(),
            seen.clone(),
        )),
        ..Append::default()
    };
    store.append(put).await.unwrap();
    let mine = |claimed: Vec<(String, String)>| {
        claimed
            .into_iter()
            .filter(|(contact_id, _)| *contact_id == id)
            .count()
    };
    assert_eq!(
        mine(
            store
                .claim_due_timers(due - 1, due + 10, 10_000)
                .await
                .unwrap()
        ),
        0,
        "not due yet"
    );
    assert_eq!(
        mine(store.claim_due_timers(due, due + 10, 10_000).await.unwrap()),
        1
    );
    assert_eq!(
        mine(
            store
                .claim_due_timers(due + 5, due + 15, 10_000)
                .await
                .unwrap()
        ),
        0,
        "leased"
    );
    assert_eq!(
        mine(
            store
                .claim_due_timers(due + 10, due + 20, 10_000)
                .await
                .unwrap()
        ),
        1,
        "lease over"
    );
    // Rewriting the timer releases it.
    let rewrite = Append {
        contact_id: id.clone(),
        timer: Some(session_update(Some((Some(due), "e")), Vec::new(), seen)),
        ..Append::default()
    };
    store.append(rewrite).await.unwrap();
    assert_eq!(
        mine(
            store
                .claim_due_timers(due + 11, due + 30, 10_000)
                .await
                .unwrap()
        ),
        1
    );
}

async fn functions_are_associated_per_instance(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let b = "arn:aws:lambda:us-east-1:1:function:b";
    let a = "arn:aws:lambda:us-east-1:1:function:a";
    for arn in [b, a, b] {
        store.associate_function(&one.id, arn, T0).await.unwrap();
    }
    assert_eq!(
        store.list_functions(&one.id).await.unwrap(),
        vec![a.to_string(), b.to_string()]
    );
    assert!(store.list_functions(&two.id).await.unwrap().is_empty());
    assert!(!store.disassociate_function(&two.id, a).await.unwrap());
    assert!(store.disassociate_function(&one.id, a).await.unwrap());
    assert_eq!(
        store.list_functions(&one.id).await.unwrap(),
        vec![b.to_string()]
    );
}

async fn flow_logs_keep_their_order_per_contact(store: &dyn Store) {
    let (one, _) = start_chat(store, |_| Vec::new()).await;
    let (two, _) = start_chat(store, |_| Vec::new()).await;
    let record = |at_ms: i64, block: &str| FlowLogRecord {
        at_ms,
        record: json!({"Identifier": block}).to_string(),
    };
    let one_id = &one.contact.id;
    assert!(store.flow_logs(one_id).await.unwrap().is_empty());
    // Written out of time order: the log keeps the order of writing.
    store
        .append_flow_logs(one_id, &[record(T0 + 5, "a"), record(T0 + 5, "b")])
        .await
        .unwrap();
    store
        .append_flow_logs(&two.contact.id, &[record(T0, "other")])
        .await
        .unwrap();
    store
        .append_flow_logs(one_id, &[record(T0 + 1, "c")])
        .await
        .unwrap();
    store.append_flow_logs(one_id, &[]).await.unwrap();
    assert_eq!(
        store.flow_logs(one_id).await.unwrap(),
        vec![
            record(T0 + 5, "a"),
            record(T0 + 5, "b"),
            record(T0 + 1, "c")
        ]
    );
    assert_eq!(
        store.flow_logs(&two.contact.id).await.unwrap(),
        vec![record(T0, "other")]
    );
}

async fn flow_modules_have_names_of_their_own(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let module = |instance: &Instance, name: &str| FlowModule {
        id: fresh(),
        instance_id: instance.id.clone(),
        name: name.into(),
        description: format!("the {name} module"),
        content: json!({"Version": "2019-10-30", "StartAction": name}).to_string(),
        settings: json!({"Transitions": [{"ReferenceName": "Success"}]}).to_string(),
        state: "ACTIVE".into(),
        status: "PUBLISHED".into(),
        modified_ms: T0,
    };
    // A flow's name does not block a module of the same name.
    let flow = Flow {
        id: fresh(),
        instance_id: one.id.clone(),
        name: "Survey".into(),
        flow_type: "CONTACT_FLOW".into(),
        state: "ACTIVE".into(),
        status: "PUBLISHED".into(),
        description: String::new(),
        content: "{}".into(),
        modified_ms: T0,
    };
    store.insert_flow(&flow).await.unwrap();
    let survey = module(&one, "Survey");
    let greeting = FlowModule {
        settings: String::new(),
        status: "SAVED".into(),
        ..module(&one, "Greeting")
    };
    assert!(store.insert_flow_module(&survey).await.unwrap());
    assert!(store.insert_flow_module(&greeting).await.unwrap());
    assert!(
        !store
            .insert_flow_module(&module(&one, "Survey"))
            .await
            .unwrap()
    );
    assert!(
        store
            .insert_flow_module(&module(&two, "Survey"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_flow_modules(&one.id).await.unwrap(),
        vec![greeting.clone(), survey.clone()]
    );
    assert_eq!(
        store.get_flow_module(&one.id, &survey.id).await.unwrap(),
        Some(survey.clone())
    );
    assert_eq!(
        store.get_flow_module(&two.id, &survey.id).await.unwrap(),
        None
    );
    assert_eq!(store.get_flow(&one.id, &survey.id).await.unwrap(), None);
}

async fn views_have_unique_names_and_are_updated_and_deleted(store: &dyn Store) {
    let one = new_instance(store).await;
    let two = new_instance(store).await;
    let view = |instance: &Instance, name: &str| View {
        id: fresh(),
        instance_id: instance.id.clone(),
        name: name.into(),
        description: Some(format!("the {name} view")),
        status: "PUBLISHED".into(),
        template: json!({"Head": {"Title": name}}).to_string(),
        actions: vec!["Confirm".into(), "Back".into()],
        tags: BTreeMap::from([("team".to_string(), "care".to_string())]),
        created_ms: T0,
        modified_ms: T0,
    };
    let survey = view(&one, "Survey");
    let greeting = View {
        description: None,
        status: "SAVED".into(),
        actions: Vec::new(),
        tags: BTreeMap::new(),
        ..view(&one, "Greeting")
    };
    assert!(store.insert_view(&survey).await.unwrap());
    assert!(store.insert_view(&greeting).await.unwrap());
    assert!(!store.insert_view(&view(&one, "Survey")).await.unwrap());
    assert!(store.insert_view(&view(&two, "Survey")).await.unwrap());
    assert_eq!(
        store.list_views(&one.id).await.unwrap(),
        vec![greeting.clone(), survey.clone()]
    );
    assert_eq!(
        store.get_view(&one.id, &survey.id).await.unwrap(),
        Some(survey.clone())
    );
    assert_eq!(store.get_view(&two.id, &survey.id).await.unwrap(), None);

    let changed = View {
        name: "Survey v2".into(),
        description: None,
        status: "SAVED".into(),
        template: json!({"Body": []}).to_string(),
        actions: vec!["Submit".into()],
        modified_ms: T0 + 1_000,
        ..survey.clone()
    };
    assert!(store.update_view(&changed).await.unwrap());
    assert_eq!(
        store.get_view(&one.id, &survey.id).await.unwrap(),
        Some(changed.clone())
    );
    // Another instance's view of that id is not this one.
    assert!(
        !store
            .update_view(&View {
                instance_id: two.id.clone(),
                ..changed.clone()
            })
            .await
            .unwrap()
    );
    // The old name is free again once the view is renamed.
    assert!(store.insert_view(&view(&one, "Survey")).await.unwrap());

    assert!(!store.delete_view(&two.id, &survey.id).await.unwrap());
    assert!(store.delete_view(&one.id, &survey.id).await.unwrap());
    assert!(!store.delete_view(&one.id, &survey.id).await.unwrap());
    assert_eq!(store.get_view(&one.id, &survey.id).await.unwrap(), None);
    assert!(store.insert_view(&view(&one, "Survey v2")).await.unwrap());
}

async fn contact_data_is_merged_field_by_field(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = &chat.contact.id;
    let reference = |value: &str| json!({"Type": "STRING", "Value": value});
    let first = ContactData {
        name: Some("Refund".into()),
        description: Some("Asked for a refund".into()),
        language_code: None,
        references: BTreeMap::from([("ticket".to_string(), reference("T-1"))]),
    };
    assert!(
        store
            .update_contact_data(id, &first, Some("cust-9"))
            .await
            .unwrap()
    );
    let second = ContactData {
        name: None,
        description: Some("Refund granted".into()),
        language_code: Some("en-GB".into()),
        references: BTreeMap::from([("order".to_string(), reference("O-7"))]),
    };
    assert!(store.update_contact_data(id, &second, None).await.unwrap());
    let contact = store.get_contact(id).await.unwrap().unwrap();
    assert_eq!(
        contact.data,
        ContactData {
            name: Some("Refund".into()),
            description: Some("Refund granted".into()),
            language_code: Some("en-GB".into()),
            references: BTreeMap::from([
                ("order".to_string(), reference("O-7")),
                ("ticket".to_string(), reference("T-1")),
            ]),
        }
    );
    // The customer id given before stays when none is given.
    assert_eq!(contact.customer_id.as_deref(), Some("cust-9"));
    assert!(
        !store
            .update_contact_data(&fresh(), &first, None)
            .await
            .unwrap()
    );
}

async fn create_chat_writes_its_timers(store: &dyn Store) {
    let instance = new_instance(store).await;
    let mut chat = new_chat(&instance.id);
    let due = T0 - 5_000;
    chat.timers = vec![Timer {
        name: "flow".into(),
        due_ms: Some(due),
        data: json!({"ready": true}).to_string(),
        wants_messages: true,
    }];
    create(store, chat.clone()).await;
    let id = &chat.contact.id;
    assert!(
        store
            .get_contact(id)
            .await
            .unwrap()
            .unwrap()
            .watches_messages
    );
    assert_eq!(
        store.get_timer(id, "flow").await.unwrap(),
        Some(chat.timers[0].clone())
    );
    assert_eq!(store.get_timer(id, "no-such-timer").await.unwrap(), None);
    // Due at once: a sweep claims it, and the next update reads it as written.
    let claimed = store
        .claim_due_timers(T0, T0 + 10_000, 10_000)
        .await
        .unwrap();
    assert!(
        claimed.contains(&(id.clone(), "flow".to_string())),
        "{claimed:?}"
    );
    let seen = Arc::new(std::sync::Mutex::new(None));
    let witness = seen.clone();
    store
        .append(Append {
            contact_id: id.clone(),
            timer: Some(TimerUpdate {
                name: "flow".into(),
                apply: Arc::new(move |stored: Option<&Timer>| {
                    *witness.lock().unwrap() = stored.cloned();
                    TimerEffect {
                        timer: stored.cloned(),
                        ..TimerEffect::default()
                    }
                }),
            }),
            ..Append::default()
        })
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().as_ref(), Some(&chat.timers[0]));
}
