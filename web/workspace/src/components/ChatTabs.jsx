import { guideKey, workspace } from '../workspace.js';

const CONNECTION_LABEL = {
  waiting: 'Connecting',
  connecting: 'Connecting',
  reconnecting: 'Reconnecting',
  failed: 'Not connected',
};

export function ChatTabs() {
  const chats = [...workspace.chats.values()];
  const ids = chats.map((c) => c.contactId);

  function onKeyDown(event) {
    const index = ids.indexOf(workspace.activeId);
    let next = null;
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') next = (index + 1) % ids.length;
    else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') next = (index - 1 + ids.length) % ids.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = ids.length - 1;
    if (next === null) return;
    event.preventDefault();
    workspace.select(ids[next]);
    document.getElementById(`tab-${ids[next]}`)?.focus();
  }

  return (
    <div class="tabs" role="tablist" aria-label="Chats" onKeyDown={onKeyDown}>
      {chats.map((chat) => {
        const active = chat.contactId === workspace.activeId;
        const unread = active ? 0 : chat.unread;
        const acw = chat.inAfterContactWork;
        const connection = !acw && CONNECTION_LABEL[chat.status];
        const name = chat.info?.customerName || chat.details?.customerName || 'Customer';
        const guide = !!chat.guide?.view && chat.guideAnswered !== guideKey(chat.guide);
        const described = [unread ? `${unread} unread` : '', acw ? 'after-contact work' : '', guide ? 'guide waiting' : '', connection || '']
          .filter(Boolean).join(', ');
        return (
          <button
            key={chat.contactId}
            id={`tab-${chat.contactId}`}
            type="button"
            role="tab"
            class={`tab${active ? ' tab--active' : ''}${acw ? ' tab--acw' : ''}`}
            aria-selected={active ? 'true' : 'false'}
            aria-controls={`panel-${chat.contactId}`}
            aria-label={described ? `${name} (${described})` : name}
            tabIndex={active ? 0 : -1}
            data-testid="chat-tab"
            data-contact-id={chat.contactId}
            data-state={chat.info?.state}
            onClick={() => workspace.select(chat.contactId)}
          >
            <span class="tab-name">{name}</span>
            <span class="tab-sub">{chat.info?.queueName || chat.details?.queueName || ''}</span>
            <span class="tab-flags">
              {connection && <span class="dot dot--warn" title={connection} />}
              {acw && <span class="pill pill--acw" data-testid="acw-indicator" title="After-contact work">ACW</span>}
              {guide && <span class="pill pill--guide" data-testid="guide-indicator" title="A guide is waiting for you">Guide</span>}
              {unread > 0 && <span class="badge" data-testid="unread-badge">{unread > 99 ? '99+' : unread}</span>}
            </span>
          </button>
        );
      })}
    </div>
  );
}
