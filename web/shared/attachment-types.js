// The file types a chat can share: Connect's list, as Liaison's StartAttachmentUpload accepts
// them (crates/core/src/attachment.rs). Used by the workspace and the widget file pickers.
export const ATTACHMENT_TYPES = [
  'text/plain', 'text/csv', 'application/pdf', 'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-powerpoint', 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'image/jpeg', 'image/png', 'audio/wav',
].join(',');
