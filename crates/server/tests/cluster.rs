//! Several nodes sharing one PostgreSQL database: items written through one node reach sockets
//! held by another, in order, and overdue chats end whichever node armed them.
//! Runs when `LIAISON_TEST_DATABASE_URL` names a PostgreSQL server (`.ci/run` sets it).

mod common;

use common::{TestServer, next_item, open_socket, shared_stores};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_sent_through_one_node_reach_sockets_on_the_others_in_order() {
    let Some(stores) = shared_stores(3).await else {
        return;
    };
    let mut nodes = Vec::new();
    for store in stores {
        nodes.push(TestServer::start_on(store, 60_000).await);
    }
    let chat = nodes[0].start_chat(json!({})).await;
    // The socket on node 1, through a connection made there.
    let (status, _, connection) = nodes[1]
        .participant(
            "/participant/connection",
            &chat.participant_token,
            json!({"Type": ["WEBSOCKET"]}),
        )
        .await;
    assert_eq!(status, 200, "{connection}");
    let url = connection["Websocket"]["Url"].as_str().unwrap();
    assert!(
        url.contains(nodes[1].base.trim_start_matches("http://")),
        "{url}"
    );
    let mut socket = open_socket(url).await;

    let mut sent = Vec::new();
    for n in 0..30 {
        let node = &nodes[[0, 2][n % 2]];
        let (status, _, reply) = node
            .participant(
                "/participant/message",
                &chat.connection_token,
                json!({"ContentType": "text/plain", "Content": format!("m{n}")}),
            )
            .await;
        assert_eq!(status, 200, "{reply}");
        sent.push(reply["Id"].clone());
    }
    for (n, id) in sent.iter().enumerate() {
        let item = next_item(&mut socket)
            .await
            .unwrap_or_else(|| panic!("message {n} did not arrive on the other node"));
        assert_eq!(&item["Id"], id, "in order, none lost or repeated");
    }

    // Ending through node 2 reaches the socket on node 1 too.
    let (status, _, _) = nodes[2]
        .participant("/participant/disconnect", &chat.connection_token, json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        next_item(&mut socket).await.unwrap()["ContentType"],
        "application/vnd.amazonaws.connect.event.participant.left"
    );
    assert_eq!(
        next_item(&mut socket).await.unwrap()["ContentType"],
        "application/vnd.amazonaws.connect.event.chat.ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_overdue_chat_ends_once_however_many_nodes_find_it_due() {
    let Some(stores) = shared_stores(2).await else {
        return;
    };
    let first = TestServer::start_on(stores[0].clone(), 10).await;
    let chat = first.start_chat(json!({"ChatDurationInMinutes": 60})).await; // 0.6 s
    // Node 1 starts after the chat was armed on node 0: its sweep and node 0's timer both find
    // the chat due.
    let second = TestServer::start_on(stores[1].clone(), 10).await;
    let (_, _, connection) = second
        .participant(
            "/participant/connection",
            &chat.participant_token,
            json!({"Type": ["WEBSOCKET"]}),
        )
        .await;
    let mut socket = open_socket(connection["Websocket"]["Url"].as_str().unwrap()).await;
    let ended = next_item(&mut socket).await.expect("chat.ended within 5 s");
    assert_eq!(
        ended["ContentType"],
        "application/vnd.amazonaws.connect.event.chat.ended"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (_, _, transcript) = second
        .connect(
            "GET",
            &format!("/contacts/{}/{}", chat.instance_id, chat.contact_id),
            None,
        )
        .await;
    assert!(transcript["Contact"]["DisconnectTimestamp"].is_number());
    let items = stores[1]
        .items_after(&chat.contact_id, 0, 100)
        .await
        .unwrap();
    let endings = items
        .iter()
        .filter(|i| {
            i.item.content_type.as_deref()
                == Some("application/vnd.amazonaws.connect.event.chat.ended")
        })
        .count();
    assert_eq!(
        endings, 1,
        "however many nodes found it due, the chat ended once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_create_one_default_instance() {
    let Some(stores) = shared_stores(3).await else {
        return;
    };
    let starts = stores
        .into_iter()
        .map(|store| TestServer::start_on(store, 60_000));
    let nodes = futures_util::future::join_all(starts).await;
    for node in &nodes {
        let (_, _, instances) = node.connect("GET", "/instance", None).await;
        assert_eq!(
            instances["InstanceSummaryList"].as_array().unwrap().len(),
            1,
            "{instances}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_upgrading_together_seed_the_organisation_once() {
    use liaison_core::organisation::{Queue, Tags};
    use liaison_server::bootstrap::{
        BASIC_HOURS_NAME, BASIC_ROUTING_PROFILE_NAME, DEFAULT_INSTANCE_ALIAS, DEFAULT_QUEUE_NAME,
        ensure_defaults,
    };

    let Some(stores) = shared_stores(3).await else {
        return;
    };
    // An installation from before the organisation: its instance and BasicQueue, no hours.
    let instance = liaison_core::Instance {
        id: uuid::Uuid::new_v4().to_string(),
        alias: DEFAULT_INSTANCE_ALIAS.into(),
        created_ms: 1,
    };
    stores[0].insert_instance(&instance).await.unwrap();
    let queue = Queue {
        id: uuid::Uuid::new_v4().to_string(),
        instance_id: instance.id.clone(),
        name: DEFAULT_QUEUE_NAME.into(),
        description: None,
        queue_type: "STANDARD".into(),
        hours_of_operation_id: None,
        max_contacts: None,
        status: "ENABLED".into(),
        outbound_caller_config: None,
        tags: Tags::new(),
        modified_ms: 1,
    };
    assert!(stores[0].create_queue(&queue).await.unwrap());

    let starts = stores
        .iter()
        .map(|store| ensure_defaults(store.as_ref(), &liaison_core::SystemClock));
    for started in futures_util::future::join_all(starts).await {
        started.expect("every node starts");
    }

    let store = &stores[0];
    let hours = store.list_hours_of_operations(&instance.id).await.unwrap();
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert_eq!(hours[0].name, BASIC_HOURS_NAME);
    assert_eq!(
        store
            .get_queue(&instance.id, &queue.id)
            .await
            .unwrap()
            .and_then(|q| q.hours_of_operation_id),
        Some(hours[0].id.clone())
    );
    let profiles = store.list_routing_profiles(&instance.id).await.unwrap();
    assert_eq!(
        profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        vec![BASIC_ROUTING_PROFILE_NAME]
    );
    let served = store
        .routing_profile_queues(&instance.id, &profiles[0].id)
        .await
        .unwrap();
    assert_eq!(
        served
            .iter()
            .map(|q| (q.queue_id.as_str(), q.channel.as_str(), q.priority, q.delay))
            .collect::<Vec<_>>(),
        vec![(queue.id.as_str(), "CHAT", 1, 0)]
    );
    let security: Vec<String> = store
        .list_security_profiles(&instance.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(security, vec!["Admin", "Agent"]);
    let statuses: Vec<(String, String)> = store
        .list_agent_statuses(&instance.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.status_type))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("Available".to_string(), "ROUTABLE".to_string()),
            ("Offline".to_string(), "OFFLINE".to_string())
        ]
    );
}
