import { workspace } from '../workspace.js';

function statusTone(status, missed) {
  if (missed) return 'missed';
  if (!status) return 'none';
  if (status.type === 'ROUTABLE') return 'available';
  if (status.type === 'OFFLINE') return 'offline';
  return 'away';
}

function StatusSwitch({ state }) {
  const statuses = state?.statuses || [];
  const current = state?.status;
  const missed = !!state?.missed;
  const value = missed ? '__missed' : current?.id ?? '__none';
  const tone = statusTone(current, missed);
  return (
    <div class={`status-switch status-switch--${tone}`}>
      <label for="status-select" class="status-label">Status</label>
      <span class="select-wrap">
        <span class="status-dot" aria-hidden="true" />
        <select
        id="status-select"
        data-testid="status-select"
        value={value}
        disabled={!state || workspace.busy.has('status')}
        onChange={(e) => {
          const id = e.currentTarget.value;
          if (!id.startsWith('__')) workspace.setStatus(id);
        }}
      >
        {missed && <option value="__missed" disabled>Missed</option>}
        {!missed && !current && <option value="__none" disabled>Choose a status</option>}
        {statuses.map((s) => (
          <option key={s.id} value={s.id}>{s.name}</option>
        ))}
        </select>
      </span>
    </div>
  );
}

/** Chats / Supervisor, for users who may open the supervisor page. */
function PageSwitch() {
  const page = workspace.page;
  const offers = workspace.state?.offers?.length || 0;
  let unread = 0;
  for (const chat of workspace.chats.values()) unread += chat.unread;
  const waiting = page === 'supervisor' ? offers + unread : 0;
  return (
    <nav class="page-switch" aria-label="Pages">
      <button
        type="button"
        class={`page-switch-button${page === 'workspace' ? ' page-switch-button--current' : ''}`}
        aria-current={page === 'workspace' ? 'page' : undefined}
        data-testid="workspace-tab"
        onClick={() => workspace.showPage('workspace')}
      >
        Chats
        {waiting > 0 && (
          <span class="badge" aria-label={`${waiting} waiting`}>{waiting > 99 ? '99+' : waiting}</span>
        )}
      </button>
      <button
        type="button"
        class={`page-switch-button${page === 'supervisor' ? ' page-switch-button--current' : ''}`}
        aria-current={page === 'supervisor' ? 'page' : undefined}
        data-testid="supervisor-tab"
        onClick={() => workspace.showPage('supervisor')}
      >
        Supervisor
      </button>
    </nav>
  );
}

export function Header() {
  const { state, session, eventsStatus } = workspace;
  const agent = state?.agent || session?.agent;
  return (
    <header class="topbar">
      <div class="brand" aria-label="Liaison agent workspace">
        <span class="brand-mark" aria-hidden="true">L</span>
        <span class="brand-name">Liaison</span>
      </div>
      {workspace.isSupervisor && <PageSwitch />}
      {eventsStatus !== 'open' && (
        <span class="pill pill--warn" role="status">{eventsStatus === 'connecting' ? 'Connecting…' : 'Reconnecting…'}</span>
      )}
      <div class="topbar-end">
        <StatusSwitch state={state} />
        <div class="agent" title={agent?.username}>
          <span class="avatar" aria-hidden="true">{(agent?.displayName || agent?.username || '?').slice(0, 1).toUpperCase()}</span>
          <span class="agent-name" data-testid="agent-name">{agent?.displayName || agent?.username}</span>
        </div>
        <button type="button" class="button button--ghost" onClick={() => workspace.signOut()}>Sign out</button>
      </div>
    </header>
  );
}

/** The "Missed" state, prominent until the agent sets a status again. */
export function MissedBanner() {
  if (!workspace.state?.missed) return null;
  return (
    <div class="banner banner--danger" role="alert" data-testid="missed-banner">
      <strong>Missed.</strong> A chat offer timed out, so no more chats are offered to you. Choose a status to receive chats again.
    </div>
  );
}
