// The workspace JSON API (`/workspace/api/`, docs/workspace-api.md) and its events socket.

const BASE = '/workspace/api';

/** An error answer of the workspace API: `status`, and `code` from `{"error": …}`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NetworkError', 'Liaison could not be reached. Check your connection.');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, json?.error || String(response.status), json?.message);
  }
  return json;
}

/** Signs in; answers `{token, expiresAt, agent}`. */
export function signIn(username, password, instanceId) {
  const body = { username, password };
  if (instanceId) body.instanceId = instanceId;
  return call('POST', '/sign-in', { body });
}

/**
 * The calls of a signed-in agent. `onUnauthorized` runs on any 401 (expired or ended session),
 * before the error is thrown.
 */
export class WorkspaceApi {
  constructor(token, onUnauthorized) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, body) {
    try {
      return await call(method, path, { token: this.token, body });
    } catch (error) {
      if (error.status === 401) this.onUnauthorized?.(error);
      throw error;
    }
  }

  signOut() {
    return this.request('POST', '/sign-out');
  }

  state() {
    return this.request('GET', '/state');
  }

  setStatus(agentStatusId) {
    return this.request('PUT', '/status', { agentStatusId });
  }

  accept(contactId) {
    return this.request('POST', `/offers/${encodeURIComponent(contactId)}/accept`);
  }

  reject(contactId) {
    return this.request('POST', `/offers/${encodeURIComponent(contactId)}/reject`);
  }

  participantToken(contactId) {
    return this.request('POST', `/contacts/${encodeURIComponent(contactId)}/participant-token`);
  }

  contact(contactId) {
    return this.request('GET', `/contacts/${encodeURIComponent(contactId)}`);
  }

  transcript(contactId) {
    return this.request('GET', `/contacts/${encodeURIComponent(contactId)}/transcript`);
  }

  clear(contactId) {
    return this.request('POST', `/contacts/${encodeURIComponent(contactId)}/clear`);
  }

  /** The agent's answer to the view the contact's guide shows: 202, or 409 `WrongState`. */
  answerGuide(contactId, action, viewResultData) {
    return this.request('POST', `/contacts/${encodeURIComponent(contactId)}/guide`, { action, viewResultData });
  }

  /** Queues and agents right now (Admin security profile only; 403 otherwise). */
  supervisor() {
    return this.request('GET', '/supervisor');
  }

  eventsUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${BASE}/events?token=${encodeURIComponent(this.token)}`;
  }
}

const PING_MS = 10_000;

/**
 * The events socket: `{"type":"state"}` frames on connect and on every change. Reconnects with
 * back-off (1 s, 2 s, 4 s … 30 s); before each retry the state is read over HTTP, which both
 * keeps the page current and finds out whether the session is still good (a WebSocket
 * handshake cannot tell a 401 from a network failure). Close code 4001 = the session ended.
 */
export class EventsSocket {
  constructor(api, { onState, onStatus, onSessionEnded }) {
    this.api = api;
    this.onState = onState;
    this.onStatus = onStatus;
    this.onSessionEnded = onSessionEnded;
    this.attempt = 0;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      ws.close(1000);
    }
  }

  /** Retries now if waiting (the browser came back online, say). */
  nudge() {
    if (!this.ws && !this.stopped) {
      clearTimeout(this.retry);
      this._reconnect();
    }
  }

  _open() {
    if (this.stopped) return;
    this.onStatus('connecting');
    const ws = new WebSocket(this.api.eventsUrl());
    this.ws = ws;
    let awaitingPong = false;
    ws.onopen = () => {
      this.pinger = setInterval(() => {
        if (awaitingPong) {
          // No answer for a whole period: the connection is gone, even if the browser has not
          // noticed (a closing handshake cannot complete while offline).
          this._lost(ws, 4000);
          return;
        }
        awaitingPong = true;
        ws.send(JSON.stringify({ type: 'ping' }));
      }, PING_MS);
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === 'state' && frame.state) {
        this.attempt = 0;
        this.onStatus('open');
        this.onState(frame.state);
      } else if (frame.type === 'pong') {
        awaitingPong = false;
      }
    };
    ws.onclose = (event) => this._lost(ws, event.code);
  }

  _lost(ws, code) {
    clearInterval(this.pinger);
    if (this.ws !== ws) return;
    this.ws = null;
    ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
    if (ws.readyState <= 1) ws.close(4000);
    if (this.stopped) return;
    if (code === 4001) {
      this.onSessionEnded();
      return;
    }
    this.onStatus('reconnecting');
    const delay = Math.min(1_000 * 2 ** this.attempt, 30_000) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.retry = setTimeout(() => this._reconnect(), delay);
  }

  async _reconnect() {
    if (this.stopped) return;
    try {
      this.onState(await this.api.state());
    } catch (error) {
      if (error.status === 401 || this.stopped) return; // onUnauthorized handles it.
      this.onStatus('reconnecting');
      const delay = Math.min(1_000 * 2 ** this.attempt, 30_000);
      this.attempt += 1;
      this.retry = setTimeout(() => this._reconnect(), delay);
      return;
    }
    this._open();
  }
}
