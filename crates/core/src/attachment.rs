//! Files shared in chats: what may be shared, and where an upload stands.

/// Largest attachment by default (Connect's limit); configurable.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: i64 = 20 * 1024 * 1024;
/// Most attachments one contact may have.
pub const MAX_ATTACHMENTS_PER_CONTACT: i64 = 100;
/// How long an upload URL stays good.
pub const UPLOAD_URL_SECONDS: i64 = 300;

/// The file types chat attachments may have (Connect's list: csv, doc(x), jp(e)g, pdf, png,
/// ppt(x), txt, wav, xls(x)).
pub const ATTACHMENT_TYPES: &[&str] = &[
    "text/plain",
    "text/csv",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/jpeg",
    "image/png",
    "audio/wav",
    "audio/x-wav",
    "audio/vnd.wave",
];

/// Where an attachment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentStatus {
    /// Started; its bytes have not arrived.
    AwaitingUpload,
    /// One upload request is receiving its bytes (no other may, so what is stored is what
    /// that request sent).
    Receiving,
    /// Its bytes arrived; CompleteAttachmentUpload has not been called.
    Uploaded,
    /// Completed and shown in the chat (the model's `APPROVED`).
    Approved,
    /// Completed but refused by the scanner (the model's `REJECTED`).
    Rejected,
}

impl AttachmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentStatus::AwaitingUpload => "AWAITING_UPLOAD",
            AttachmentStatus::Receiving => "RECEIVING",
            AttachmentStatus::Uploaded => "UPLOADED",
            AttachmentStatus::Approved => "APPROVED",
            AttachmentStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "AWAITING_UPLOAD" => AttachmentStatus::AwaitingUpload,
            "RECEIVING" => AttachmentStatus::Receiving,
            "UPLOADED" => AttachmentStatus::Uploaded,
            "APPROVED" => AttachmentStatus::Approved,
            "REJECTED" => AttachmentStatus::Rejected,
            _ => return None,
        })
    }
}

/// A file shared (or being shared) in a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub contact_id: String,
    /// Who shares it.
    pub participant_id: String,
    pub name: String,
    pub content_type: String,
    /// As declared at the start; the upload must be exactly this long.
    pub size_bytes: i64,
    pub status: AttachmentStatus,
    /// The upload URL's bearer token, hashed.
    pub upload_token_hash: String,
    pub upload_expires_ms: i64,
    pub created_ms: i64,
    /// The start's ClientToken and a hash of its request, when it had one.
    pub client_token: Option<(String, String)>,
}

impl Attachment {
    /// Where its bytes are kept in the blob storage.
    pub fn blob_key(&self) -> String {
        blob_key(&self.contact_id, &self.id)
    }
}

/// Where an attachment's bytes are kept in the blob storage: under its contact.
pub fn blob_key(contact_id: &str, attachment_id: &str) -> String {
    format!("{contact_id}/{attachment_id}")
}
