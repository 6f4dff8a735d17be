import { useState } from 'preact/hooks';
import { workspace } from '../workspace.js';
import { AttributesPanel } from './AttributesPanel.jsx';
import { Composer } from './Composer.jsx';
import { GuidePane } from './GuidePane.jsx';
import { Transcript } from './Transcript.jsx';

const STATUS_TEXT = {
  waiting: 'Connecting…',
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting…',
  failed: 'Could not connect to the chat.',
};

function TypingIndicator({ chat }) {
  return (
    <div class="typing-slot" aria-live="polite">
      {chat.typing && (
        <span class="typing" data-testid="typing-indicator">
          <span class="typing-dots" aria-hidden="true"><i /><i /><i /></span>
          {chat.typing.name} is typing…
        </span>
      )}
    </div>
  );
}

function ChatHead({ chat, showDetails, setShowDetails }) {
  const name = chat.info?.customerName || chat.details?.customerName || 'Customer';
  const acw = chat.inAfterContactWork;
  const ended = chat.status === 'ended';
  const statusText = !acw && !ended && STATUS_TEXT[chat.status];
  return (
    <div class="chat-head">
      <div class="chat-title">
        <h2>{name}</h2>
        <span class="muted">{chat.info?.queueName || chat.details?.queueName}</span>
        {statusText && <span class="pill pill--warn" role="status">{statusText}</span>}
      </div>
      <div class="chat-actions">
        <button
          type="button"
          class="button button--ghost details-toggle"
          aria-expanded={showDetails ? 'true' : 'false'}
          aria-controls={`side-${chat.contactId}`}
          onClick={() => setShowDetails(!showDetails)}
        >
          {showDetails ? 'Conversation' : 'Details'}
        </button>
        {chat.status === 'failed' || (ended && !acw && chat.endReason === 'unavailable') ? (
          <button type="button" class="button" onClick={() => chat.reconnect()}>Try again</button>
        ) : null}
        {!acw && !ended && (
          <button
            type="button"
            class="button button--danger"
            data-testid="end-chat"
            disabled={chat.ending || workspace.busy.has(`end:${chat.contactId}`) || chat.status !== 'connected'}
            onClick={() => workspace.endChat(chat.contactId)}
          >
            {chat.ending ? 'Ending…' : 'End chat'}
          </button>
        )}
      </div>
    </div>
  );
}

function AfterContactWork({ chat, showDetails, setShowDetails }) {
  if (!chat.inAfterContactWork && chat.status !== 'ended') return null;
  const busy = workspace.busy.has(`clear:${chat.contactId}`);
  const guide = chat.guide;
  return (
    <div class="acw-bar" data-testid="acw-bar">
      <div>
        <strong>{chat.inAfterContactWork ? 'After-contact work' : 'Chat ended'}</strong>
        <span class="muted">
          {!chat.inAfterContactWork
            ? ' Waiting for Liaison to move the contact to after-contact work…'
            : guide
              ? ' The chat has ended. Complete the guide, then clear the contact to free the slot.'
              : ' The chat has ended. Finish your notes, then clear the contact to free the slot.'}
        </span>
      </div>
      {chat.inAfterContactWork && guide && !showDetails && (
        <button
          type="button"
          class="button button--primary open-guide"
          data-testid="open-guide"
          aria-controls={`side-${chat.contactId}`}
          onClick={() => {
            setShowDetails(true);
            // The button goes away with the conversation: focus moves to the guide it opened.
            setTimeout(() => document.getElementById(`guide-title-${chat.contactId}`)?.focus(), 0);
          }}
        >
          Open guide
        </button>
      )}
      {chat.inAfterContactWork && (
        <button
          type="button"
          class={`button${guide?.view ? '' : ' button--primary'}`}
          data-testid="clear-contact"
          disabled={busy}
          onClick={() => workspace.clearContact(chat.contactId)}
        >
          {busy ? 'Clearing…' : 'Clear contact'}
        </button>
      )}
    </div>
  );
}

export function ContactView({ chat }) {
  const [showDetails, setShowDetails] = useState(false);
  return (
    <section
      id={`panel-${chat.contactId}`}
      role="tabpanel"
      aria-labelledby={`tab-${chat.contactId}`}
      class={`contact-view${showDetails ? ' contact-view--details' : ''}${chat.guide ? ' contact-view--guide' : ''}`}
      data-testid="contact-view"
      data-contact-id={chat.contactId}
    >
      <div class="conversation">
        <ChatHead chat={chat} showDetails={showDetails} setShowDetails={setShowDetails} />
        <AfterContactWork chat={chat} showDetails={showDetails} setShowDetails={setShowDetails} />
        <Transcript chat={chat} />
        <TypingIndicator chat={chat} />
        <Composer chat={chat} />
      </div>
      <aside class="side" id={`side-${chat.contactId}`} aria-label="Contact details">
        <GuidePane chat={chat} />
        <AttributesPanel chat={chat} />
      </aside>
    </section>
  );
}
