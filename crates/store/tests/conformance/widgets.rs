//! Conformance checks of chat widgets and their security keys. Part of the suite in
//! `conformance.rs`.

use super::{T0, fresh, new_instance};
use liaison_core::widget::{DisplayNames, MAX_ACTIVE_KEYS, Widget, WidgetConfig, WidgetKey};
use liaison_store::Store;
use serde_json::json;
use std::sync::Arc;

/// Runs every widget check against `store`.
pub async fn checks(store: &Arc<dyn Store>) {
    let s: &dyn Store = &**store;
    widgets_round_trip_with_unique_names_per_instance(s).await;
    widgets_are_updated_and_deleted_with_their_keys(s).await;
    concurrent_key_additions_keep_at_most_two(store).await;
}

fn widget(instance_id: &str, name: &str) -> Widget {
    Widget {
        id: fresh(),
        instance_id: instance_id.to_string(),
        name: name.to_string(),
        config: WidgetConfig {
            contact_flow_id: fresh(),
            allowed_origins: vec!["https://shop.example.com".into()],
            security_enabled: true,
            display_names: DisplayNames {
                agent: Some("Support".into()),
                ..DisplayNames::default()
            },
            styles: json!({"primaryColor": "#123456", "width": 400})
                .as_object()
                .cloned()
                .unwrap(),
        },
        created_ms: T0,
        modified_ms: T0,
    }
}

fn key(widget_id: &str, at_ms: i64) -> WidgetKey {
    WidgetKey {
        id: fresh(),
        widget_id: widget_id.to_string(),
        secret: fresh(),
        created_ms: at_ms,
    }
}

async fn widgets_round_trip_with_unique_names_per_instance(store: &dyn Store) {
    let one = new_instance(store).await.id;
    let two = new_instance(store).await.id;
    let shop = widget(&one, "Shop");
    assert!(store.create_widget(&shop).await.unwrap());
    assert!(
        !store.create_widget(&widget(&one, "Shop")).await.unwrap(),
        "names are unique per instance"
    );
    let elsewhere = widget(&two, "Shop");
    assert!(store.create_widget(&elsewhere).await.unwrap());
    let help = widget(&one, "Help");
    assert!(store.create_widget(&help).await.unwrap());

    assert_eq!(
        store.get_widget(&shop.id).await.unwrap(),
        Some(shop.clone())
    );
    assert_eq!(store.get_widget(&fresh()).await.unwrap(), None);
    assert_eq!(
        store.list_widgets(&one).await.unwrap(),
        vec![help.clone(), shop.clone()]
    );
    assert_eq!(store.list_widgets(&two).await.unwrap(), vec![elsewhere]);
}

async fn widgets_are_updated_and_deleted_with_their_keys(store: &dyn Store) {
    let instance = new_instance(store).await.id;
    let other = new_instance(store).await.id;
    let mut shop = widget(&instance, "Shop");
    assert!(store.create_widget(&shop).await.unwrap());

    shop.name = "Shop (EU)".into();
    shop.config
        .allowed_origins
        .push("https://eu.example.com".into());
    shop.config.security_enabled = false;
    shop.modified_ms = T0 + 10;
    assert!(store.update_widget(&shop).await.unwrap());
    assert_eq!(
        store.get_widget(&shop.id).await.unwrap(),
        Some(shop.clone())
    );
    let misplaced = Widget {
        instance_id: other.clone(),
        ..shop.clone()
    };
    assert!(!store.update_widget(&misplaced).await.unwrap());

    // Keys: at most two, oldest first; a deleted one makes room.
    let first = key(&shop.id, T0 + 1);
    let second = key(&shop.id, T0 + 2);
    assert!(store.add_widget_key(&first).await.unwrap());
    assert!(store.add_widget_key(&second).await.unwrap());
    assert!(!store.add_widget_key(&key(&shop.id, T0 + 3)).await.unwrap());
    assert!(
        !store.add_widget_key(&key(&fresh(), T0)).await.unwrap(),
        "no widget"
    );
    assert_eq!(
        store.widget_keys(&shop.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert!(!store.delete_widget_key(&fresh(), &first.id).await.unwrap());
    assert!(store.delete_widget_key(&shop.id, &first.id).await.unwrap());
    assert!(!store.delete_widget_key(&shop.id, &first.id).await.unwrap());
    let third = key(&shop.id, T0 + 4);
    assert!(store.add_widget_key(&third).await.unwrap());
    assert_eq!(
        store.widget_keys(&shop.id).await.unwrap(),
        vec![second, third]
    );

    assert!(!store.delete_widget(&other, &shop.id).await.unwrap());
    assert!(store.delete_widget(&instance, &shop.id).await.unwrap());
    assert!(!store.delete_widget(&instance, &shop.id).await.unwrap());
    assert_eq!(store.get_widget(&shop.id).await.unwrap(), None);
    assert!(store.widget_keys(&shop.id).await.unwrap().is_empty());
}

async fn concurrent_key_additions_keep_at_most_two(store: &Arc<dyn Store>) {
    let instance = new_instance(&**store).await.id;
    let shop = widget(&instance, "Shop");
    assert!(store.create_widget(&shop).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            let key = key(&shop.id, T0 + n);
            tokio::spawn(async move { store.add_widget_key(&key).await.unwrap() })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        added += usize::from(task.await.unwrap());
    }
    assert_eq!(added, MAX_ACTIVE_KEYS);
    assert_eq!(
        store.widget_keys(&shop.id).await.unwrap().len(),
        MAX_ACTIVE_KEYS
    );
}
