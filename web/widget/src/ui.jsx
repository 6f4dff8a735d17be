// The widget's UI: the launcher and the chat pane, rendered into the widget's shadow root.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { renderText } from './markdown.js';
import { CT } from './chat.js';
import { ATTACHMENT_TYPES } from '../../shared/attachment-types.js';

const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const MAX_INPUT_PX = 120;
const PANE_ID = 'liaison-widget-pane';

function useWidget(widget) {
  const [, setVersion] = useState(widget.version);
  const rendered = widget.version;
  useLayoutEffect(() => {
    const off = widget.subscribe(setVersion);
    // A change between the render and the subscription would be missed otherwise.
    if (widget.version !== rendered) setVersion(widget.version);
    return off;
  }, [widget]);
  return widget;
}

// Style values come from the widget's config and the page's snippet: plain CSS values only.
function cssValue(value, { length = false } = {}) {
  if (typeof value === 'number' && Number.isFinite(value)) return length ? `${value}px` : String(value);
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (!v || v.length > 200 || /[;{}<>\\]/.test(v)) return null;
  return length && /^\d+(\.\d+)?$/.test(v) ? `${v}px` : v;
}

function cssVariables(styles) {
  const open = styles.openChat || {};
  const close = styles.closeChat || {};
  const vars = {};
  const set = (name, ...candidates) => {
    for (const c of candidates) {
      const v = cssValue(c, { length: name === '--lw-width' || name === '--lw-height' });
      if (v) {
        vars[name] = v;
        return;
      }
    }
  };
  set('--lw-primary', styles.primaryColor, open.backgroundColor);
  set('--lw-on-primary', styles.primaryTextColor, styles.primaryColor ? null : open.color);
  set('--lw-launcher-bg', open.backgroundColor, styles.primaryColor);
  set('--lw-launcher-fg', open.color, styles.primaryTextColor);
  set('--lw-launcher-open-bg', close.backgroundColor, open.backgroundColor, styles.primaryColor);
  set('--lw-launcher-open-fg', close.color, open.color, styles.primaryTextColor);
  set('--lw-font', styles.fontFamily);
  set('--lw-width', styles.width);
  set('--lw-height', styles.height);
  return vars;
}

const ChatIcon = () => (
  <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false">
    <path
      fill="currentColor"
      d="M12 3C6.48 3 2 6.94 2 11.8c0 2.45 1.15 4.67 3 6.27V22l3.76-2.07c1.02.28 2.11.43 3.24.43 5.52 0 10-3.94 10-8.8S17.52 3 12 3Zm-4.5 10.3a1.4 1.4 0 1 1 0-2.8 1.4 1.4 0 0 1 0 2.8Zm4.5 0a1.4 1.4 0 1 1 0-2.8 1.4 1.4 0 0 1 0 2.8Zm4.5 0a1.4 1.4 0 1 1 0-2.8 1.4 1.4 0 0 1 0 2.8Z"
    />
  </svg>
);

const CloseIcon = ({ size = 24 }) => (
  <svg viewBox="0 0 24 24" width={size} height={size} aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4Z" />
  </svg>
);

const MinimizeIcon = () => (
  <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M6.7 8.3a1 1 0 0 0-1.4 1.4l6 6a1 1 0 0 0 1.4 0l6-6a1 1 0 1 0-1.4-1.4L12 13.6 6.7 8.3Z" />
  </svg>
);

const SendIcon = () => (
  <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path fill="currentColor" d="M3.4 20.4 21.8 12.9a1 1 0 0 0 0-1.8L3.4 3.6a.9.9 0 0 0-1.3 1l1.8 6.2a.5.5 0 0 0 .4.4l8.2 1.3-8.2 1.3a.5.5 0 0 0-.4.4l-1.8 6.2a.9.9 0 0 0 1.3 1Z" />
  </svg>
);

const PaperclipIcon = () => (
  <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      d="m21 11.5-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9"
    />
  </svg>
);

export function App({ widget }) {
  useWidget(widget);
  const launcher = useRef(null);
  const vars = cssVariables(widget.styles);
  const showLauncher = widget.ready && !widget.hideLauncher;
  return (
    <div class="lw-root" data-open={widget.open ? '' : undefined} style={vars}>
      {widget.open && (
        <Pane
          widget={widget}
          onClose={() => {
            widget.closePane();
            launcher.current?.focus();
          }}
        />
      )}
      {showLauncher && (
        <button
          ref={launcher}
          type="button"
          class="lw-launcher"
          data-testid="liaison-widget-launcher"
          aria-label={widget.open ? 'Close chat' : widget.unread ? `Open chat, ${widget.unread} new` : 'Open chat'}
          aria-expanded={widget.open ? 'true' : 'false'}
          aria-controls={PANE_ID}
          onClick={() => widget.toggle()}
        >
          {widget.open ? <CloseIcon size={26} /> : <ChatIcon />}
          {!widget.open && widget.unread > 0 && (
            <span class="lw-badge" aria-hidden="true">
              {widget.unread > 9 ? '9+' : widget.unread}
            </span>
          )}
        </button>
      )}
    </div>
  );
}

function statusText(widget) {
  const chat = widget.chat;
  if (widget.phase === 'error') return 'Not connected';
  if (widget.phase === 'starting' || widget.phase === 'restoring' || !chat) return 'Connecting…';
  switch (chat.status) {
    case 'connected':
      return 'Online';
    case 'reconnecting':
      return 'Reconnecting…';
    case 'ended':
      return 'Chat ended';
    default:
      return 'Connecting…';
  }
}

function Pane({ widget, onClose }) {
  const chat = widget.chat;
  const ended = !!chat && chat.ended;
  const pane = useRef(null);
  const title = 'liaison-widget-title';

  // Focus the input when the pane opens (else its first button).
  useEffect(() => {
    const root = pane.current;
    if (!root) return;
    const target =
      root.querySelector('textarea') || root.querySelector('[data-testid="liaison-widget-retry"]') || root.querySelector('button');
    target?.focus();
  }, []);

  // A failed start replaces the input: the retry button takes the focus if the input had it.
  useEffect(() => {
    const root = pane.current;
    if (widget.phase !== 'error' || !root) return;
    const active = root.getRootNode().activeElement;
    if (!active || active === document.body || !root.contains(active)) {
      root.querySelector('[data-testid="liaison-widget-retry"]')?.focus();
    }
  }, [widget.phase]);

  const showChat = widget.phase === 'chat' && chat;
  return (
    <section
      id={PANE_ID}
      ref={pane}
      class="lw-pane"
      role="dialog"
      aria-labelledby={title}
      data-testid="liaison-widget-pane"
      data-contact-id={chat ? chat.contactId : undefined}
      data-status={chat ? chat.status : widget.phase}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
    >
      <header class="lw-header">
        <div class="lw-heading">
          <h2 id={title}>{widget.headerText}</h2>
          <p class="lw-status">
            <span class={`lw-dot lw-dot--${chat && !ended && widget.phase === 'chat' ? chat.status : 'off'}`} aria-hidden="true" />
            {statusText(widget)}
          </p>
        </div>
        {chat && !ended && widget.phase === 'chat' && (
          <button type="button" class="lw-end" data-testid="liaison-widget-end" onClick={() => widget.endChat()}>
            End chat
          </button>
        )}
        <button type="button" class="lw-icon-button" aria-label="Minimize chat" title="Minimize" onClick={onClose}>
          <MinimizeIcon />
        </button>
      </header>
      {widget.phase === 'error' ? (
        <div class="lw-body lw-body--center">
          <div class="lw-error" role="alert" data-testid="liaison-widget-error">
            <p class="lw-error-title">We couldn't start the chat</p>
            <p class="lw-error-message">{widget.error}</p>
            <button type="button" class="lw-button" data-testid="liaison-widget-retry" onClick={() => widget.retry()}>
              Try again
            </button>
          </div>
        </div>
      ) : showChat ? (
        <Messages widget={widget} chat={chat} />
      ) : (
        <div class="lw-body lw-body--center" aria-live="polite">
          <div class="lw-spinner" aria-hidden="true" />
          <p class="lw-muted">{widget.phase === 'restoring' ? 'Reconnecting to your chat…' : 'Starting your chat…'}</p>
        </div>
      )}
      {ended ? (
        <div class="lw-footer lw-footer--ended">
          <button type="button" class="lw-button" data-testid="liaison-widget-new-chat" onClick={() => widget.startNew()}>
            Start a new chat
          </button>
        </div>
      ) : widget.phase !== 'error' ? (
        <Composer widget={widget} chat={chat} />
      ) : null}
    </section>
  );
}

function noticeText(widget, entry) {
  const name = entry.mine ? 'You' : widget.label(entry.role, entry.displayName);
  switch (entry.event) {
    case 'joined':
      return `${name} joined the chat`;
    case 'left':
      return `${name} left the chat`;
    case 'idle':
      return entry.mine ? 'You are idle' : `${name} is idle`;
    case 'returned':
      return entry.mine ? 'You are back' : `${name} is back`;
    case 'autodisconnection':
      // The customer's own timer disconnects the others; another's disconnects them.
      return entry.mine ? 'You were inactive for too long' : `${name} was disconnected for inactivity`;
    case 'ended':
      return 'The chat has ended';
    default:
      return '';
  }
}

function Messages({ widget, chat }) {
  const list = useRef(null);
  const stick = useRef(true);
  const readId = chat.readId;
  const typing = chat.typing;

  useLayoutEffect(() => {
    const el = list.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });

  let previous = null;
  return (
    <div
      class="lw-body lw-messages"
      ref={list}
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      aria-label="Messages"
      tabIndex={0}
      data-testid="liaison-widget-messages"
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {chat.timeline.map((entry) => {
        const prev = previous;
        previous = entry;
        if (entry.kind === 'notice') {
          return (
            <div key={entry.key} class={`lw-notice lw-notice--${entry.event}`} data-testid="liaison-widget-notice" data-event={entry.event}>
              {noticeText(widget, entry)}
            </div>
          );
        }
        const first =
          !prev || prev.kind !== 'message' || prev.mine !== entry.mine || prev.participantId !== entry.participantId || prev.role !== entry.role;
        return (
          <Message
            key={entry.key}
            widget={widget}
            chat={chat}
            entry={entry}
            first={first}
            read={!!readId && entry.id === readId}
          />
        );
      })}
      {typing && (
        <div class="lw-typing" data-testid="liaison-widget-typing">
          <span class="lw-typing-dots" aria-hidden="true">
            <i />
            <i />
            <i />
          </span>
          {widget.label(typing.role, typing.displayName)} is typing…
        </div>
      )}
    </div>
  );
}

/** A shared file: its name, a download link asked for on click, and a preview for images. */
function SharedFile({ chat, file }) {
  const [preview, setPreview] = useState(null);
  const approved = file.Status === 'APPROVED';
  const image = approved && /^image\//.test(file.ContentType || '');
  useEffect(() => {
    if (!image) return undefined;
    let live = true;
    chat.attachmentUrl(file.AttachmentId).then((url) => live && setPreview(url)).catch(() => {});
    return () => { live = false; };
  }, [file.AttachmentId, image]);
  async function download() {
    try {
      window.open(await chat.attachmentUrl(file.AttachmentId), '_blank', 'noopener');
    } catch (error) {
      console.warn('Liaison widget: the file could not be downloaded', error);
    }
  }
  return (
    <div class="lw-file" data-testid="liaison-widget-file" data-status={file.Status}>
      {preview && <img class="lw-file-preview" src={preview} alt={file.AttachmentName} data-testid="liaison-widget-file-preview" />}
      <div class="lw-file-row">
        <span class="lw-file-name">{file.AttachmentName}</span>
        {approved ? (
          <button type="button" class="lw-link-button" onClick={download}>
            Download
          </button>
        ) : (
          <span class="lw-failed">{file.Status === 'REJECTED' ? 'Blocked' : 'Checking…'}</span>
        )}
      </div>
    </div>
  );
}

function Message({ widget, chat, entry, first, read }) {
  const html = renderText(entry.content, { markdown: entry.contentType === CT.MARKDOWN });
  const name = entry.mine ? null : widget.label(entry.role, entry.displayName);
  const time = entry.status === 'sent' && entry.time < Number.MAX_SAFE_INTEGER ? clock.format(new Date(entry.time)) : '';
  return (
    <div
      class={`lw-msg ${entry.mine ? 'lw-msg--mine' : 'lw-msg--theirs'}${first ? ' lw-msg--first' : ''}`}
      data-testid="liaison-widget-message"
      data-role={entry.role}
      data-message-id={entry.id || undefined}
      data-status={entry.status}
    >
      {name && first && <div class="lw-msg-name">{name}</div>}
      {name && !first && <span class="lw-sr">{name}: </span>}
      {entry.mine && <span class="lw-sr">You: </span>}
      {entry.attachments ? (
        <div class="lw-bubble">
          {entry.attachments.map((file) => (
            <SharedFile key={file.AttachmentId} chat={chat} file={file} />
          ))}
        </div>
      ) : (
        <div class="lw-bubble" dangerouslySetInnerHTML={{ __html: html }} />
      )}
      <div class="lw-msg-meta">
        {entry.status === 'sending' && <span>Sending…</span>}
        {entry.status === 'failed' && (
          <span class="lw-failed">
            Not sent.{' '}
            <button type="button" class="lw-link-button" onClick={() => chat.retry(entry.key)}>
              Retry
            </button>
          </span>
        )}
        {time && <time dateTime={new Date(entry.time).toISOString()}>{time}</time>}
        {read && (
          <span class="lw-read" data-testid="liaison-widget-read">
            Read
          </span>
        )}
      </div>
    </div>
  );
}

function Composer({ widget, chat }) {
  const [text, setText] = useState(widget.draft || '');
  const area = useRef(null);
  const picker = useRef(null);
  const ready = widget.phase === 'chat' && !!chat && (chat.status === 'connected' || chat.status === 'reconnecting');
  const canSend = ready && !!text.trim();
  const id = 'liaison-widget-input';

  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_INPUT_PX)}px`;
  }, [text]);

  function send() {
    if (!canSend) return;
    if (widget.send(text)) {
      setText('');
      widget.draft = '';
    }
    area.current?.focus();
  }

  return (
    <form
      class="lw-footer lw-composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for={id} class="lw-sr">
        Type your message
      </label>
      <textarea
        id={id}
        ref={area}
        rows={1}
        data-testid="liaison-widget-input"
        placeholder={ready ? 'Type a message…' : 'Connecting…'}
        value={text}
        maxLength={4096}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setText(value);
          widget.draft = value;
          if (value.trim() && chat) chat.typed();
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <input
        ref={picker}
        type="file"
        class="lw-sr"
        accept={ATTACHMENT_TYPES}
        tabIndex={-1}
        data-testid="liaison-widget-file-input"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          e.currentTarget.value = '';
          if (file) widget.sendFile(file);
        }}
      />
      <button
        type="button"
        class="lw-attach"
        data-testid="liaison-widget-attach"
        aria-label="Share a file"
        title={widget.fileError ? `Not shared: ${widget.fileError}` : 'Share a file'}
        disabled={!ready || (chat && chat.uploading > 0)}
        onClick={() => picker.current?.click()}
      >
        <PaperclipIcon />
      </button>
      <button type="submit" class="lw-send" data-testid="liaison-widget-send" aria-label="Send" title="Send" disabled={!canSend}>
        <SendIcon />
      </button>
    </form>
  );
}
