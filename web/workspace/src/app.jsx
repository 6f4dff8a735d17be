import { useEffect } from 'preact/hooks';
import { ChatTabs } from './components/ChatTabs.jsx';
import { ContactView } from './components/ContactView.jsx';
import { Header, MissedBanner } from './components/Header.jsx';
import { Offers } from './components/Offers.jsx';
import { SignIn } from './components/SignIn.jsx';
import { SupervisorPage } from './components/Supervisor.jsx';
import { Toasts } from './components/Toasts.jsx';
import { useWorkspace } from './workspace.js';

function EmptyState({ state }) {
  const available = state?.status?.type === 'ROUTABLE' && !state?.missed;
  return (
    <div class="empty">
      <h2>No chats</h2>
      <p class="muted">
        {available
          ? 'You are available. New chats appear here as they are offered to you.'
          : 'Set your status to Available to start receiving chats.'}
      </p>
    </div>
  );
}

function Title({ ws }) {
  const offers = ws.state?.offers?.length || 0;
  let unread = 0;
  for (const chat of ws.chats.values()) if (!chat.viewed) unread += chat.unread;
  const count = offers + unread;
  useEffect(() => {
    document.title = `${count ? `(${count}) ` : ''}${offers ? 'Incoming chat · ' : ''}Liaison workspace`;
  }, [count, offers]);
  return null;
}

export function App() {
  const ws = useWorkspace();
  const announcer = (
    <div class="sr-only" aria-live="assertive" aria-atomic="true" data-testid="announcer">{ws.announcement}</div>
  );

  if (ws.phase === 'signed-out') {
    return (
      <>
        <SignIn reason={ws.signOutReason} />
        {announcer}
      </>
    );
  }
  if (ws.phase === 'restoring') {
    return (
      <main class="splash" aria-busy="true">
        <p>Loading your workspace…</p>
      </main>
    );
  }
  const active = ws.activeId ? ws.chats.get(ws.activeId) : null;
  const supervising = ws.page === 'supervisor' && ws.isSupervisor;
  return (
    <div class="app">
      <Title ws={ws} />
      <Header />
      <MissedBanner />
      <main class="main">
        <h1 class="sr-only">Agent workspace</h1>
        <Offers />
        {supervising ? (
          <SupervisorPage />
        ) : (
          <>
            {ws.chats.size > 0 && <ChatTabs />}
            {active ? <ContactView key={active.contactId} chat={active} /> : <EmptyState state={ws.state} />}
          </>
        )}
      </main>
      <Toasts />
      {announcer}
    </div>
  );
}
