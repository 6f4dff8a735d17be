/**
 * The supervisor page (users with the Admin security profile): the instance's queues and agents
 * right now, from `GET /workspace/api/supervisor`, read every 3 s while the page is shown.
 */

import { useEffect, useState } from 'preact/hooks';
import { formatDuration } from '../format.js';
import { workspace } from '../workspace.js';

const POLL_MS = 3_000;

function toneOf(status, missed) {
  if (missed) return 'missed';
  if (!status) return 'none';
  if (status.type === 'ROUTABLE') return 'available';
  if (status.type === 'OFFLINE') return 'offline';
  return 'away';
}

/** The last snapshot, read again every POLL_MS while the page and the browser tab are shown. */
function useSnapshot() {
  const [snapshot, setSnapshot] = useState({ data: null, error: null, receivedAt: 0, forbidden: false });
  useEffect(() => {
    let stopped = false;
    let timer = null;
    let inFlight = false;
    async function poll() {
      clearTimeout(timer);
      if (stopped) return;
      if (document.visibilityState === 'visible' && !inFlight && workspace.api) {
        inFlight = true;
        try {
          const data = await workspace.api.supervisor();
          if (!stopped) setSnapshot({ data, error: null, receivedAt: Date.now(), forbidden: false });
        } catch (error) {
          if (!stopped) {
            if (error.status === 403) {
              setSnapshot((s) => ({ ...s, forbidden: true, error: error.message }));
              stopped = true;
              return;
            }
            setSnapshot((s) => ({ ...s, error: error.message || String(error) }));
          }
        } finally {
          inFlight = false;
        }
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }
    const onVisible = () => {
      if (document.visibilityState === 'visible') poll();
    };
    document.addEventListener('visibilitychange', onVisible);
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);
  return snapshot;
}

/** Ticks every second, so waits and status times grow between reads. */
function useTick() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 1_000);
    return () => clearInterval(timer);
  }, []);
}

function QueuesTable({ queues, now }) {
  return (
    <section class="panel sup-panel" aria-labelledby="sup-queues-title">
      <h2 id="sup-queues-title" class="panel-title">Queues</h2>
      {queues.length === 0 ? (
        <p class="muted">No queues.</p>
      ) : (
        <div class="table-wrap">
          <table class="sup-table" data-testid="supervisor-queues">
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col" class="num">Waiting</th>
                <th scope="col" class="num">Offered</th>
                <th scope="col" class="num">Oldest wait</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((queue) => (
                <tr key={queue.id} data-testid="supervisor-queue-row" data-queue-name={queue.name} class={queue.waiting > 0 ? 'sup-row--busy' : ''}>
                  <th scope="row">{queue.name}</th>
                  <td class="num" data-label="Waiting">
                    <span class={queue.waiting > 0 ? 'count count--busy' : 'count'}>{queue.waiting}</span>
                  </td>
                  <td class="num" data-label="Offered">{queue.offered}</td>
                  <td class="num" data-label="Oldest wait">
                    {queue.oldestEnqueuedAt ? formatDuration(now - queue.oldestEnqueuedAt) : <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function AgentsTable({ agents, now }) {
  const sorted = [...agents].sort((a, b) => (a.displayName || a.username).localeCompare(b.displayName || b.username));
  return (
    <section class="panel sup-panel" aria-labelledby="sup-agents-title">
      <h2 id="sup-agents-title" class="panel-title">Agents</h2>
      {sorted.length === 0 ? (
        <p class="muted">No agents.</p>
      ) : (
        <div class="table-wrap">
          <table class="sup-table" data-testid="supervisor-agents">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Connected</th>
                <th scope="col" class="num">After-contact work</th>
                <th scope="col" class="num">Offers</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((agent) => {
                const tone = toneOf(agent.status, false);
                return (
                  <tr key={agent.userId} data-testid="supervisor-agent-row" data-username={agent.username}>
                    <th scope="row">
                      <span class="sup-agent">
                        <span class="avatar" aria-hidden="true">{(agent.displayName || agent.username || '?').slice(0, 1).toUpperCase()}</span>
                        <span class="sup-agent-names">
                          <span class="sup-agent-name">{agent.displayName || agent.username}</span>
                          {agent.displayName && agent.displayName !== agent.username && (
                            <span class="muted sup-agent-user">{agent.username}</span>
                          )}
                        </span>
                      </span>
                    </th>
                    <td data-label="Status">
                      <span class="sup-status">
                        <span class={`status-dot status-dot--${tone}`} aria-hidden="true" />
                        <span data-testid="supervisor-agent-status">{agent.status?.name || <span class="muted">No status</span>}</span>
                        {agent.status?.since > 0 && (
                          <span class="muted sup-since" title="Time in this status">{formatDuration(now - agent.status.since)}</span>
                        )}
                        {agent.missed && <span class="pill pill--missed" data-testid="supervisor-missed">Missed</span>}
                      </span>
                    </td>
                    <td class="num" data-label="Connected">{agent.connected}</td>
                    <td class="num" data-label="After-contact work">{agent.afterContactWork}</td>
                    <td class="num" data-label="Offers">{agent.offers}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function SupervisorPage() {
  const { data, error, receivedAt, forbidden } = useSnapshot();
  useTick();
  // The server's clock at the last read, moved on by the time since.
  const now = data ? data.now + (Date.now() - receivedAt) : 0;
  const totals = data
    ? {
        waiting: data.queues.reduce((n, q) => n + q.waiting, 0),
        available: data.agents.filter((a) => a.status?.type === 'ROUTABLE' && !a.missed).length,
        agents: data.agents.length,
      }
    : null;
  return (
    <section class="supervisor" aria-labelledby="supervisor-title" data-testid="supervisor-page">
      <div class="sup-head">
        <h2 id="supervisor-title">Supervisor</h2>
        {totals && (
          <p class="muted sup-totals">
            {totals.waiting} waiting · {totals.available} of {totals.agents} agents available
          </p>
        )}
        {error && !forbidden && (
          <span class="pill pill--warn" role="status">Not updated: {error}</span>
        )}
      </div>
      {forbidden && (
        <div class="panel" role="alert">
          <p>{error || 'The supervisor view needs the Admin security profile.'}</p>
        </div>
      )}
      {!forbidden && !data && !error && <p class="muted" aria-busy="true">Loading…</p>}
      {data && (
        <div class="sup-grid">
          <QueuesTable queues={data.queues || []} now={now} />
          <AgentsTable agents={data.agents || []} now={now} />
        </div>
      )}
    </section>
  );
}
