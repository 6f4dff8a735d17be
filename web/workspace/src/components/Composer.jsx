import { useEffect, useRef, useState } from 'preact/hooks';
import { workspace } from '../workspace.js';
import { ATTACHMENT_TYPES } from '../../../shared/attachment-types.js';

const MAX_ROWS_PX = 160;

export function Composer({ chat }) {
  const [text, setText] = useState(chat.draft || '');
  const area = useRef(null);
  const picker = useRef(null);
  const id = `composer-${chat.contactId}`;
  const disabled = !chat.canSend;

  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_ROWS_PX)}px`;
  }, [text]);

  function send() {
    if (disabled) return;
    const result = chat.sendMessage(text);
    if (result.ok) {
      setText('');
      chat.draft = '';
    } else if (result.error) {
      workspace.toast(result.error, 'error');
    }
    area.current?.focus();
  }

  let reason = null;
  if (chat.inAfterContactWork || chat.status === 'ended') reason = 'This chat has ended.';
  else if (chat.status === 'reconnecting') reason = 'Reconnecting to the chat…';
  else if (chat.status !== 'connected') reason = 'Connecting to the chat…';

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for={id} class="sr-only">Message to {chat.info?.customerName || 'the customer'}</label>
      <textarea
        id={id}
        ref={area}
        data-testid="composer-input"
        rows={1}
        placeholder={reason || 'Type a message'}
        value={text}
        disabled={disabled}
        aria-describedby={`${id}-hint`}
        onInput={(e) => {
          setText(e.currentTarget.value);
          chat.draft = e.currentTarget.value;
          if (e.currentTarget.value.trim()) chat.typed();
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
        class="sr-only"
        accept={ATTACHMENT_TYPES}
        data-testid="composer-file"
        tabIndex={-1}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          e.currentTarget.value = '';
          if (file) chat.sendAttachment(file, (message) => workspace.toast(`The file was not shared: ${message}`, 'error'));
        }}
      />
      <button
        type="button"
        class="button"
        data-testid="composer-attach"
        disabled={disabled}
        aria-label="Share a file"
        title="Share a file"
        onClick={() => picker.current?.click()}
      >
        {chat.uploading ? 'Uploading…' : 'Attach'}
      </button>
      <button type="submit" class="button button--primary" data-testid="composer-send" disabled={disabled || !text.trim()}>
        Send
      </button>
      <p id={`${id}-hint`} class="composer-hint">{reason || 'Enter to send, Shift+Enter for a new line'}</p>
    </form>
  );
}
