//! Conformance checks of attachments, their download tokens and blob storage. Part of the
//! suite in `conformance.rs`.

use super::{T0, fresh, start_chat};
use liaison_core::attachment::{Attachment, AttachmentStatus};
use liaison_core::{ItemType, NewItem};
use liaison_store::{Append, DeletedContact, StartedAttachment, Store};
use std::sync::Arc;

/// Runs every attachment check against `store`.
pub async fn checks(store: &Arc<dyn Store>) {
    let s: &dyn Store = &**store;
    attachments_are_started_within_the_quota_of_an_open_contact(s).await;
    attachment_statuses_move_only_from_where_they_are(s).await;
    download_tokens_are_found_until_purged(s).await;
    blobs_round_trip_and_refuse_odd_keys(s).await;
    deleting_an_ended_contact_deletes_its_files_too(s).await;
    concurrent_starts_keep_the_quota(store).await;
}

fn attachment(contact_id: &str) -> Attachment {
    Attachment {
        id: fresh(),
        contact_id: contact_id.to_string(),
        participant_id: fresh(),
        name: "invoice.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 1234,
        status: AttachmentStatus::AwaitingUpload,
        upload_token_hash: fresh(),
        upload_expires_ms: T0 + 300_000,
        created_ms: T0,
        client_token: None,
    }
}

async fn attachments_are_started_within_the_quota_of_an_open_contact(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let id = &chat.contact.id;
    let first = attachment(id);
    assert_eq!(
        store.create_attachment(&first, 2).await.unwrap(),
        StartedAttachment::Started
    );
    assert_eq!(store.get_attachment(&first.id).await.unwrap(), Some(first));
    assert_eq!(
        store.create_attachment(&attachment(id), 2).await.unwrap(),
        StartedAttachment::Started
    );
    assert_eq!(
        store.create_attachment(&attachment(id), 2).await.unwrap(),
        StartedAttachment::QuotaReached
    );
    assert_eq!(
        store
            .create_attachment(&attachment(&fresh()), 2)
            .await
            .unwrap(),
        StartedAttachment::ContactClosed
    );
    store
        .append(Append {
            contact_id: id.clone(),
            items: vec![NewItem::new(
                ItemType::Event,
                "application/vnd.amazonaws.connect.event.chat.ended",
                None,
                T0,
            )],
            end_contact_at: Some(T0),
            ..Append::default()
        })
        .await
        .unwrap();
    let (other, _) = start_chat(store, |_| Vec::new()).await;
    assert_eq!(
        store.create_attachment(&attachment(id), 5).await.unwrap(),
        StartedAttachment::ContactClosed
    );
    assert_eq!(
        store
            .create_attachment(&attachment(&other.contact.id), 5)
            .await
            .unwrap(),
        StartedAttachment::Started
    );
    assert_eq!(store.get_attachment(&fresh()).await.unwrap(), None);

    // A retried start (same participant and ClientToken) finds the first; another
    // participant's token of the same text is theirs.
    let contact_id = &other.contact.id;
    let with_token = Attachment {
        client_token: Some(("token-1".into(), "hash-1".into())),
        ..attachment(contact_id)
    };
    assert_eq!(
        store.create_attachment(&with_token, 5).await.unwrap(),
        StartedAttachment::Started
    );
    let retry = Attachment {
        id: fresh(),
        participant_id: with_token.participant_id.clone(),
        ..with_token.clone()
    };
    assert_eq!(
        store.create_attachment(&retry, 5).await.unwrap(),
        StartedAttachment::Replayed(Box::new(with_token.clone()))
    );
    let someone_else = Attachment {
        client_token: Some(("token-1".into(), "hash-1".into())),
        ..attachment(contact_id)
    };
    assert_eq!(
        store.create_attachment(&someone_else, 5).await.unwrap(),
        StartedAttachment::Started
    );
    assert!(
        store
            .renew_attachment_upload(&with_token.id, "renewed", T0 + 9)
            .await
            .unwrap()
    );
    let renewed = store.get_attachment(&with_token.id).await.unwrap().unwrap();
    assert_eq!(
        (
            renewed.upload_token_hash.as_str(),
            renewed.upload_expires_ms
        ),
        ("renewed", T0 + 9)
    );
}

async fn attachment_statuses_move_only_from_where_they_are(store: &dyn Store) {
    use AttachmentStatus::*;
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let shared = attachment(&chat.contact.id);
    store.create_attachment(&shared, 10).await.unwrap();
    assert!(
        !store
            .set_attachment_status(&shared.id, Uploaded, Approved)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_attachment_status(&shared.id, AwaitingUpload, Uploaded)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_attachment_status(&shared.id, Uploaded, Approved)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_attachment_status(&shared.id, Uploaded, Rejected)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_attachment(&shared.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Approved
    );
}

async fn download_tokens_are_found_until_purged(store: &dyn Store) {
    let (chat, _) = start_chat(store, |_| Vec::new()).await;
    let shared = attachment(&chat.contact.id);
    store.create_attachment(&shared, 10).await.unwrap();
    let (old, new) = (fresh(), fresh());
    store
        .add_attachment_download(&old, &shared.id, T0 + 10, T0)
        .await
        .unwrap();
    assert_eq!(
        store.attachment_download(&old).await.unwrap(),
        Some((shared.id.clone(), T0 + 10))
    );
    // A later token purges the expired one.
    store
        .add_attachment_download(&new, &shared.id, T0 + 100, T0 + 20)
        .await
        .unwrap();
    assert_eq!(store.attachment_download(&old).await.unwrap(), None);
    assert_eq!(
        store.attachment_download(&new).await.unwrap(),
        Some((shared.id, T0 + 100))
    );
}

async fn blobs_round_trip_and_refuse_odd_keys(store: &dyn Store) {
    let blobs = store.blobs();
    let key = format!("{}/{}", fresh(), fresh());
    assert_eq!(blobs.get_blob(&key).await.unwrap(), None);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    blobs.put_blob(&key, bytes.clone()).await.unwrap();
    assert_eq!(blobs.get_blob(&key).await.unwrap(), Some(bytes));
    blobs.put_blob(&key, b"again".to_vec()).await.unwrap();
    assert_eq!(blobs.get_blob(&key).await.unwrap(), Some(b"again".to_vec()));
    for odd in [
        "../escape",
        "a/../../b",
        "/abs/path",
        "one",
        "a/b/c",
        "a/..",
    ] {
        assert!(blobs.put_blob(odd, Vec::new()).await.is_err(), "{odd}");
        assert!(blobs.get_blob(odd).await.is_err(), "{odd}");
    }
}

async fn deleting_an_ended_contact_deletes_its_files_too(store: &dyn Store) {
    let (chat, _) = start_chat(store, |c| {
        vec![NewItem::new(ItemType::Message, "text/plain", Some(c), T0).with_content("hi")]
    })
    .await;
    let id = &chat.contact.id;
    let shared = attachment(id);
    store.create_attachment(&shared, 10).await.unwrap();
    store
        .add_attachment_download(&fresh(), &shared.id, T0 + 100, T0)
        .await
        .unwrap();
    store
        .blobs()
        .put_blob(&shared.blob_key(), b"file".to_vec())
        .await
        .unwrap();
    let (other, _) = start_chat(store, |_| Vec::new()).await;
    assert_eq!(
        store.delete_contact(id).await.unwrap(),
        DeletedContact::StillOpen
    );
    store
        .append(Append {
            contact_id: id.clone(),
            items: vec![NewItem::new(
                ItemType::Event,
                "application/vnd.amazonaws.connect.event.chat.ended",
                None,
                T0 + 1,
            )],
            end_contact_at: Some(T0 + 1),
            ..Append::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store.delete_contact(id).await.unwrap(),
        DeletedContact::Deleted
    );
    assert_eq!(store.get_contact(id).await.unwrap(), None);
    assert_eq!(store.get_attachment(&shared.id).await.unwrap(), None);
    assert!(store.items_after(id, 0, 10).await.unwrap().is_empty());
    assert!(store.list_participants(id).await.unwrap().is_empty());
    assert_eq!(
        store.blobs().get_blob(&shared.blob_key()).await.unwrap(),
        None
    );
    assert_eq!(
        store.delete_contact(id).await.unwrap(),
        DeletedContact::NotFound
    );
    assert!(
        store
            .get_contact(&other.contact.id)
            .await
            .unwrap()
            .is_some(),
        "others stay"
    );
}

async fn concurrent_starts_keep_the_quota(store: &Arc<dyn Store>) {
    let (chat, _) = start_chat(&**store, |_| Vec::new()).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let shared = attachment(&chat.contact.id);
            tokio::spawn(async move { store.create_attachment(&shared, 3).await.unwrap() })
        })
        .collect();
    let mut started = 0;
    for task in tasks {
        started += usize::from(task.await.unwrap() == StartedAttachment::Started);
    }
    assert_eq!(started, 3);
}
