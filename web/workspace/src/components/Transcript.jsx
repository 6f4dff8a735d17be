import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { formatClock, isoOf } from '../format.js';
import { workspace } from '../workspace.js';

/** A shared file: its name, a download link fetched on demand, and a preview for images. */
function Attachment({ attachment, chat }) {
  const [preview, setPreview] = useState(null);
  const approved = attachment.Status === 'APPROVED';
  const image = approved && /^image\//.test(attachment.ContentType || '');
  useEffect(() => {
    if (!image) return;
    let live = true;
    chat.attachmentUrl(attachment.AttachmentId).then((url) => live && setPreview(url)).catch(() => {});
    return () => { live = false; };
  }, [attachment.AttachmentId, image]);
  async function download() {
    try {
      const url = await chat.attachmentUrl(attachment.AttachmentId);
      window.open(url, '_blank', 'noopener');
    } catch (error) {
      workspace.toast(`The file could not be downloaded: ${error.message || error}`, 'error');
    }
  }
  return (
    <div class="attachment" data-testid="attachment" data-status={attachment.Status}>
      {preview && <img class="attachment-preview" src={preview} alt={attachment.AttachmentName} data-testid="attachment-preview" />}
      <div class="attachment-row">
        <span class="attachment-name">{attachment.AttachmentName}</span>
        {approved
          ? <button type="button" class="linkish" onClick={download}>Download</button>
          : <span class="attachment-rejected">{attachment.Status === 'REJECTED' ? 'Blocked by the scanner' : 'Checking…'}</span>}
      </div>
    </div>
  );
}

function Message({ entry, chat, agentName }) {
  const side = entry.self ? 'self' : entry.role === 'CUSTOMER' ? 'customer' : 'other';
  const system = entry.role === 'SYSTEM' && (!entry.name || entry.name === 'SYSTEM_MESSAGE');
  const name = system ? 'System' : entry.name || (entry.self ? agentName : 'Customer');
  return (
    <li
      class={`msg msg--${side}${entry.pending ? ` msg--${entry.pending}` : ''}`}
      data-testid="message"
      data-participant-role={entry.role}
      data-message-id={entry.pending ? undefined : entry.id}
    >
      <div class="msg-meta">
        <span class="msg-name">{name}</span>
        <time class="msg-time" dateTime={isoOf(entry.time)}>{formatClock(entry.time)}</time>
      </div>
      <div class="bubble">
        {entry.attachments
          ? entry.attachments.map((a) => <Attachment key={a.AttachmentId} attachment={a} chat={chat} />)
          : entry.text}
      </div>
      {entry.read && <div class="msg-status" data-testid="read-receipt">Read</div>}
      {entry.pending === 'sending' && <div class="msg-status">Sending…</div>}
      {entry.pending === 'failed' && (
        <div class="msg-status msg-status--error" role="alert">
          Not sent{entry.error ? `: ${entry.error}` : ''}.{' '}
          {chat.canSend && (
            <button type="button" class="linkish" onClick={() => chat.retry(entry.id)}>Retry</button>
          )}{' '}
          <button type="button" class="linkish" onClick={() => chat.discard(entry.id)}>Discard</button>
        </div>
      )}
    </li>
  );
}

function Notice({ entry }) {
  return (
    <li class="notice" data-testid="notice" data-content-type={entry.contentType}>
      <span>{entry.text}</span>
      <time dateTime={isoOf(entry.time)}>{formatClock(entry.time)}</time>
    </li>
  );
}

function emptyText(chat) {
  if (chat.status === 'connected') return 'No messages yet.';
  if (chat.status === 'ended' || chat.status === 'failed') return 'The conversation could not be loaded.';
  return 'Loading the conversation…';
}

export function Transcript({ chat }) {
  const list = useRef(null);
  const stick = useRef(true);
  const entries = chat.timeline;
  const agentName = workspace.session?.agent?.displayName || 'You';
  const customer = chat.info?.customerName || 'the customer';

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });

  return (
    <div
      class="transcript"
      ref={list}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
      }}
    >
      {entries.length === 0 && <p class="transcript-empty">{emptyText(chat)}</p>}
      <ol
        class="transcript-list"
        data-testid="transcript"
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={`Conversation with ${customer}`}
      >
        {entries.map((entry) =>
          entry.kind === 'notice'
            ? <Notice key={entry.id} entry={entry} />
            : <Message key={entry.id} entry={entry} chat={chat} agentName={agentName} />,
        )}
      </ol>
    </div>
  );
}
