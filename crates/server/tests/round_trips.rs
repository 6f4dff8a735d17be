//! How many database round trips a message costs on PostgreSQL. Alone in its test binary: it
//! installs a tracing subscriber, and other tests' threads in the same process would interfere.
//! Runs when `LIAISON_TEST_DATABASE_URL` names a PostgreSQL server (`.ci/run` sets it).

mod common;

use common::TestServer;
use liaison_store::{PostgresStore, Store};
use serde_json::json;
use std::sync::Arc;

/// Records the SQL of every statement sqlx sends while installed.
#[derive(Clone, Default)]
struct StatementLog(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Summary(String);
        impl tracing::field::Visit for Summary {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "summary" || field.name() == "db.statement" {
                    self.0.push_str(&format!("{value:?} "));
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "summary" || field.name() == "db.statement" {
                    self.0.push_str(value);
                    self.0.push(' ');
                }
            }
        }
        if event.metadata().target() == "sqlx::query" {
            let mut summary = Summary(String::new());
            event.record(&mut summary);
            self.0.lock().unwrap().push(summary.0);
        }
    }
}

/// Runs on one thread, so that the thread's subscriber sees every statement the server sends.
#[tokio::test(flavor = "current_thread")]
async fn a_message_costs_two_database_round_trips_on_postgresql() {
    use tracing_subscriber::layer::SubscriberExt;
    let Ok(url) = std::env::var("LIAISON_TEST_DATABASE_URL") else {
        eprintln!("LIAISON_TEST_DATABASE_URL is not set; skipping the round-trip count");
        return;
    };
    let schema = format!("round_trips_{}", uuid::Uuid::new_v4().simple());
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(&url, Some(&schema))
            .await
            .expect("connect"),
    );
    let log = StatementLog::default();
    let subscriber = tracing_subscriber::registry().with(log.clone()).with(
        tracing_subscriber::filter::Targets::new()
            .with_target("sqlx::query", tracing::Level::DEBUG),
    );
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests in this process may have cached "nobody listens" for sqlx's call sites.
    tracing::callsite::rebuild_interest_cache();
    let node = TestServer::start_on(store, 60_000).await;
    let chat = node.start_chat(json!({})).await;
    // The chat's flow starts in the background; let it reach its wait before counting.
    loop {
        let before = log.0.lock().unwrap().len();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if log.0.lock().unwrap().len() == before {
            break;
        }
    }
    // Background work that is not part of a request: hints to other nodes, timer sweeps.
    let background = [
        "pg_notify",
        "expires_ms <=",
        "last_seq FROM contacts WHERE id IN",
        "COUNT(*)",
        "leased_until",
    ];
    for n in 0..3 {
        log.0.lock().unwrap().clear();
        let body = json!({"ContentType": "text/plain", "Content": format!("m{n}"), "ClientToken": format!("t{n}")});
        let (status, _, reply) = node
            .participant("/participant/message", &chat.connection_token, body)
            .await;
        assert_eq!(status, 200, "{reply}");
        let statements: Vec<String> = log
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|sql| !background.iter().any(|b| sql.contains(b)))
            .cloned()
            .collect();
        assert_eq!(
            statements.len(),
            2,
            "one to authenticate, one to append: {statements:#?}"
        );
    }
}
