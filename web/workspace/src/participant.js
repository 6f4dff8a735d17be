// A small client of the Amazon Connect Participant Service API, as the agent workspace uses it.
//
// It does what ChatJS's connection helper does for one participant, on the same wire:
// CreateParticipantConnection (X-Amz-Bearer: participant token) gives a WebSocket URL and a
// connection token; the socket is subscribed to `aws/chat`, kept alive with `aws/ping` and
// `aws/heartbeat` every 10 s, and replaced with a fresh CreateParticipantConnection when it dies.
// After every (re)subscription the transcript is read, so nothing written while the socket was
// away is missed; items are handed on once each, de-duplicated by Id.
//
// No DOM here: it runs in the browser and, given `fetch` and `WebSocket`, under Node.

const EVENT = 'application/vnd.amazonaws.connect.event.';

export const ContentType = Object.freeze({
  TEXT: 'text/plain',
  MARKDOWN: 'text/markdown',
  TYPING: EVENT + 'typing',
  READ: EVENT + 'message.read',
  DELIVERED: EVENT + 'message.delivered',
  METADATA: EVENT + 'message.metadata',
  JOINED: EVENT + 'participant.joined',
  LEFT: EVENT + 'participant.left',
  IDLE: EVENT + 'participant.idle',
  RETURNED: EVENT + 'participant.returned',
  AUTO_DISCONNECTION: EVENT + 'participant.autodisconnection',
  CHAT_ENDED: EVENT + 'chat.ended',
  TRANSFER_SUCCEEDED: EVENT + 'transfer.succeeded',
  TRANSFER_FAILED: EVENT + 'transfer.failed',
});

/** Socket keep-alive period, as ChatJS and the mobile SDKs use. */
export const HEARTBEAT_MS = 10_000;
/** Typing events are sent at most this often while the agent types. */
export const TYPING_THROTTLE_MS = 5_000;
/** Transcript pages read (100 items each) when a chat is first loaded. */
const MAX_TRANSCRIPT_PAGES = 20;
const PAGE_SIZE = 100;
/** How long a socket may take to open, and a subscription to be answered, before it is replaced. */
const OPEN_TIMEOUT_MS = 10_000;
const SUBSCRIBE_RETRY_MS = 1_000;
const SUBSCRIBE_TRIES = 4;

/** An error of the Participant Service (`status` 0 for a network failure). */
export class ParticipantError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.name = 'ParticipantError';
    this.status = status;
    this.code = code;
  }
}

/** A v4 UUID; `crypto.randomUUID` exists only in secure contexts, `getRandomValues` everywhere. */
export function uuid() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Milliseconds of an item's `AbsoluteTime` (ISO-8601 text). */
export function itemTime(item) {
  const ms = Date.parse(item?.AbsoluteTime ?? '');
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * One participant's connection to one chat.
 *
 * Options:
 * - `participantToken`: from accepting the offer; if absent, `refreshToken` is asked first.
 * - `refreshToken()`: resolves to a new participant token (the workspace API's
 *   participant-token endpoint), or rejects when the chat is over for this participant. Asked
 *   when CreateParticipantConnection answers 403 (an old token after a reload, say).
 * - `onItems(items, source)`: new items, each once; `source` is `'live'` or `'transcript'`.
 * - `onStatus(status, detail)`: `connecting`, `connected`, `reconnecting`, `ended`, `failed`.
 * - `baseUrl`, `fetch`, `WebSocket`: where and how to call (the page's origin by default).
 */
export class ParticipantConnection {
  constructor(options) {
    this.participantToken = options.participantToken || null;
    this.refreshToken = options.refreshToken || null;
    this.onItems = options.onItems || (() => {});
    this.onStatus = options.onStatus || (() => {});
    this.baseUrl = options.baseUrl || '';
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    this.log = options.log || (() => {});
    /** Learnt from the echo of something this connection sent (see `_learnSelf`). */
    this.participantId = options.participantId || null;

    this.status = 'idle';
    this.connectionToken = null;
    this.items = new Map();
    this.transcriptLoaded = false;
    this.ws = null;
    this.subscribed = false;
    this.subscribeTries = 0;
    this.timers = new Set();
    this.heartbeat = null;
    this.heartbeatPending = false;
    /** The last `aws/ping` answer: whether the server said it is healthy. */
    this.healthy = true;
    this.attempt = 0;
    this.stopped = false;
    this.connecting = false;
    this.leaving = false;
    this.sentIds = new Set();
    this.receipts = new Map();
    this.lastTypingAt = 0;
  }

  /** Connects; failures are retried in the background, so this only reports the first outcome. */
  start() {
    this.stopped = false;
    return this._connect();
  }

  /** Stops following the chat without leaving it (the tab was closed, the agent signed out). */
  close() {
    this.stopped = true;
    this._dropSocket();
    this._clearTimers();
    if (this.status !== 'ended') this._setStatus('closed');
  }

  /** Tries again at once if waiting to reconnect (the browser came back online, say). */
  nudge() {
    if (this.status === 'reconnecting' && !this.ws && !this.connecting) {
      this._clearTimers();
      this._connect();
    }
  }

  // ---- Participant Service operations -------------------------------------------------------

  /** SendMessage; resolves to `{Id, AbsoluteTime}`. Reuse `clientToken` to retry safely. */
  async sendMessage(content, { contentType = ContentType.TEXT, clientToken = uuid() } = {}) {
    const answer = await this._rest('/participant/message', {
      ContentType: contentType,
      Content: content,
      ClientToken: clientToken,
    });
    this._noteSent(answer.Id);
    return answer;
  }

  /** A typing event, at most once per TYPING_THROTTLE_MS; resolves whether one was sent. */
  async sendTyping() {
    const now = Date.now();
    if (now - this.lastTypingAt < TYPING_THROTTLE_MS || this.status !== 'connected') return false;
    this.lastTypingAt = now;
    try {
      const answer = await this._rest('/participant/event', {
        ContentType: ContentType.TYPING,
        ClientToken: uuid(),
      });
      this._noteSent(answer.Id);
      return true;
    } catch (error) {
      this.lastTypingAt = 0;
      throw error;
    }
  }

  /**
   * A `read` or `delivered` receipt for a message, once per message: no second read, and no
   * delivered after read. Resolves whether one was sent.
   */
  async sendReceipt(kind, messageId) {
    const done = this.receipts.get(messageId);
    if (done === 'read' || done === kind || this.status === 'ended' || this.leaving) return false;
    this.receipts.set(messageId, kind);
    try {
      await this._rest('/participant/event', {
        ContentType: kind === 'read' ? ContentType.READ : ContentType.DELIVERED,
        Content: JSON.stringify({ messageId }),
        ClientToken: uuid(),
      });
      return true;
    } catch (error) {
      if (this.receipts.get(messageId) === kind) {
        if (done) this.receipts.set(messageId, done);
        else this.receipts.delete(messageId);
      }
      throw error;
    }
  }

  /** Notes a receipt this participant sent earlier (seen in the transcript), so it is not resent. */
  noteReceipt(kind, messageId) {
    if (this.receipts.get(messageId) !== 'read') this.receipts.set(messageId, kind);
  }

  /**
   * Shares a file: StartAttachmentUpload, a PUT of its bytes to the upload URL (with the
   * headers it names), then CompleteAttachmentUpload. Resolves to the attachment id.
   */
  async sendAttachment(file) {
    const started = await this._rest('/participant/start-attachment-upload', {
      ContentType: file.type,
      AttachmentName: file.name,
      AttachmentSizeInBytes: file.size,
      ClientToken: uuid(),
    });
    const upload = started.UploadMetadata;
    let response;
    try {
      response = await fetch(upload.Url, { method: 'PUT', headers: upload.HeadersToInclude, body: file });
    } catch (error) {
      throw new ParticipantError(0, 'NetworkError', error?.message || 'The upload failed.');
    }
    if (!response.ok) {
      const json = await response.json().catch(() => null);
      throw new ParticipantError(response.status, json?.__type || 'UploadFailed', json?.message || `Upload failed (HTTP ${response.status}).`);
    }
    await this._rest('/participant/complete-attachment-upload', {
      AttachmentIds: [started.AttachmentId],
      ClientToken: uuid(),
    });
    return started.AttachmentId;
  }

  /** GetAttachment: a short-lived download URL for a file shared in the chat. */
  async attachmentUrl(attachmentId) {
    const answer = await this._rest('/participant/attachment', { AttachmentId: attachmentId, UrlExpiryInSeconds: 300 });
    return answer.Url;
  }

  /** GetTranscript with the given members (PascalCase, as on the wire). */
  getTranscript(request = {}) {
    return this._rest('/participant/transcript', request);
  }

  /** DisconnectParticipant: leaves the chat; the connection then ends. */
  async disconnect() {
    this.leaving = true;
    try {
      await this._rest('/participant/disconnect', { ClientToken: uuid() });
    } catch (error) {
      // Already gone (403) is what was asked for.
      if (!(error instanceof ParticipantError && error.status === 403)) {
        this.leaving = false;
        throw error;
      }
    }
    // The socket normally carries this participant's `participant.left` and then closes; end
    // then (see `_deliver`, `_socketDied`), or shortly in any case.
    if (this.ws) this._later(() => this._end('left'), 3_000);
    else this._end('left');
  }

  // ---- connection ----------------------------------------------------------------------------

  async _connect() {
    if (this.stopped || this.status === 'ended' || this.connecting) return;
    this.connecting = true;
    this._setStatus(this.transcriptLoaded || this.attempt > 0 ? 'reconnecting' : 'connecting');
    try {
      const answer = await this._createConnection(['WEBSOCKET', 'CONNECTION_CREDENTIALS']);
      this.connecting = false;
      if (this.stopped || this.status === 'ended') return;
      this._openSocket(answer.Websocket.Url);
    } catch (error) {
      this.connecting = false;
      if (this.stopped || this.status === 'ended') return;
      if (error.ended) {
        this._end('unavailable', error);
      } else if (error instanceof ParticipantError && error.status >= 400 && error.status < 500
          && error.status !== 429 && error.status !== 403) {
        this._setStatus('failed', error);
      } else {
        this._retryLater(error);
      }
    }
  }

  /**
   * CreateParticipantConnection. A 403 means the participant token is no longer good: one new
   * token is asked for; if there is none, the chat is over for this participant (`ended`).
   */
  async _createConnection(types) {
    if (!this.participantToken) await this._renewParticipantToken();
    const body = { Type: types, ConnectParticipant: true };
    let answer;
    try {
      answer = await this._call('/participant/connection', body, this.participantToken);
    } catch (error) {
      if (!(error instanceof ParticipantError && error.status === 403)) throw error;
      await this._renewParticipantToken(error);
      answer = await this._call('/participant/connection', body, this.participantToken).catch((again) => {
        if (again instanceof ParticipantError && again.status === 403) again.ended = true;
        throw again;
      });
    }
    const token = answer?.ConnectionCredentials?.ConnectionToken;
    if (!token || (types.includes('WEBSOCKET') && !answer?.Websocket?.Url)) {
      throw new ParticipantError(200, 'BadResponse', 'CreateParticipantConnection answered without a connection token or WebSocket URL.');
    }
    this.connectionToken = token;
    return answer;
  }

  async _renewParticipantToken(cause) {
    if (!this.refreshToken) {
      const error = cause || new ParticipantError(0, 'NoToken', 'No participant token.');
      error.ended = true;
      throw error;
    }
    try {
      this.participantToken = await this.refreshToken();
    } catch (error) {
      // The workspace API refused (the chat ended for the agent) or could not be reached.
      if (error?.status === 409 || error?.status === 404 || error?.status === 403) error.ended = true;
      throw error;
    }
  }

  _openSocket(url) {
    this._dropSocket();
    const ws = new this.WebSocket(url);
    this.ws = ws;
    this.subscribed = false;
    this.subscribeTries = 0;
    const openTimer = this._later(() => {
      if (this.ws === ws && ws.readyState !== 1) this._socketDied('the socket did not open');
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._cancel(openTimer);
      this._subscribe();
      this._beat();
      this.heartbeat = setInterval(() => this._tick(), HEARTBEAT_MS);
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this._frame(typeof event.data === 'string' ? event.data : String(event.data));
    };
    ws.onclose = (event) => {
      if (this.ws === ws) this._socketDied(`the socket closed (${event?.code ?? '?'})`);
    };
    ws.onerror = () => {
      // A close event follows.
    };
  }

  _subscribe() {
    if (!this.ws || this.subscribed) return;
    if (this.subscribeTries >= SUBSCRIBE_TRIES) {
      this._socketDied('the subscription was not answered');
      return;
    }
    this.subscribeTries += 1;
    this._send({ topic: 'aws/subscribe', content: { topics: ['aws/chat'] } });
    const ws = this.ws;
    this._later(() => {
      if (this.ws === ws && !this.subscribed) this._subscribe();
    }, SUBSCRIBE_RETRY_MS * this.subscribeTries);
  }

  _beat() {
    this.heartbeatPending = true;
    this._send({ topic: 'aws/ping' });
    this._send({ topic: 'aws/heartbeat' });
  }

  _tick() {
    if (this.heartbeatPending) {
      this._socketDied('the heartbeat was not answered');
    } else {
      this._beat();
    }
  }

  _frame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    switch (frame?.topic) {
      case 'aws/heartbeat':
        this.heartbeatPending = false;
        break;
      case 'aws/ping':
        this.healthy = frame.statusCode === 200;
        break;
      case 'aws/subscribe':
        if (frame.content?.status === 'success' && !this.subscribed) {
          this.subscribed = true;
          this.attempt = 0;
          this._setStatus('connected');
          this._catchUp();
        } else if (frame.content?.status !== 'success') {
          const ws = this.ws;
          this._later(() => {
            if (this.ws === ws && !this.subscribed) this._subscribe();
          }, 500);
        }
        break;
      case 'aws/chat': {
        let item;
        try {
          item = typeof frame.content === 'string' ? JSON.parse(frame.content) : frame.content;
        } catch {
          return;
        }
        if (item && item.Id) this._deliver([item], 'live');
        break;
      }
      default:
        break;
    }
  }

  /** Reads what the socket could not carry: the whole chat the first time, then back to the last item seen. */
  async _catchUp() {
    const ws = this.ws;
    const first = !this.transcriptLoaded;
    const knownBefore = new Set(this.items.keys());
    let nextToken;
    try {
      for (let page = 0; page < MAX_TRANSCRIPT_PAGES; page += 1) {
        const request = { MaxResults: PAGE_SIZE, ScanDirection: 'BACKWARD', SortOrder: 'ASCENDING' };
        if (nextToken) request.NextToken = nextToken;
        const answer = await this.getTranscript(request);
        if (this.ws !== ws) return;
        const items = answer.Transcript || [];
        this._deliver(items, 'transcript');
        nextToken = answer.NextToken;
        const reachedKnown = !first && items.some((item) => knownBefore.has(item.Id));
        if (!nextToken || reachedKnown) break;
      }
      this.transcriptLoaded = true;
    } catch (error) {
      this.log('transcript', error);
      if (this.ws === ws && !(error instanceof ParticipantError && error.status === 403)) {
        this._later(() => {
          if (this.ws === ws && this.subscribed) this._catchUp();
        }, 2_000);
      }
    }
  }

  _deliver(items, source) {
    const fresh = [];
    for (const item of items) {
      if (!item || !item.Id || this.items.has(item.Id)) continue;
      this.items.set(item.Id, item);
      this._learnSelf(item);
      fresh.push(item);
    }
    if (fresh.length === 0) return;
    this.onItems(fresh, source);
    for (const item of fresh) {
      if (item.ContentType === ContentType.CHAT_ENDED) {
        this._end('chat-ended');
        return;
      }
      const self = this.participantId
        ? item.ParticipantId === this.participantId
        : this.leaving && item.ParticipantRole === 'AGENT';
      if (item.ContentType === ContentType.LEFT && self) {
        this._end(this.leaving ? 'left' : 'removed');
        return;
      }
    }
  }

  /**
   * Which participant this connection is. CreateParticipantConnection does not say, but the
   * items SendMessage and SendEvent create carry it: the echo of an Id they returned does.
   */
  _noteSent(id) {
    if (!id || this.participantId) return;
    const echoed = this.items.get(id);
    if (echoed?.ParticipantId) this.participantId = echoed.ParticipantId;
    else this.sentIds.add(id);
  }

  _learnSelf(item) {
    if (!this.participantId && this.sentIds.has(item.Id) && item.ParticipantId) {
      this.participantId = item.ParticipantId;
      this.sentIds.clear();
    }
  }

  _socketDied(reason) {
    this.log('socket', reason);
    this._dropSocket();
    if (this.stopped || this.status === 'ended') return;
    if (this.leaving) {
      this._end('left');
      return;
    }
    this._retryLater(new ParticipantError(0, 'SocketLost', reason));
  }

  _retryLater(error) {
    this._dropSocket();
    this._setStatus('reconnecting', error);
    // First retry at once (as ChatJS does), then back off: 2 s, 4 s, … 30 s, with jitter.
    const delay = this.attempt === 0 ? 0 : Math.min(2 ** this.attempt * 1_000, 30_000) * (0.85 + Math.random() * 0.3);
    this.attempt += 1;
    this._later(() => this._connect(), delay);
  }

  _end(reason, error) {
    if (this.status === 'ended') return;
    this._dropSocket();
    this._clearTimers();
    this._setStatus('ended', { reason, error });
  }

  _dropSocket() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.heartbeatPending = false;
    const ws = this.ws;
    this.ws = null;
    this.subscribed = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // Closing a socket that never opened can throw in some engines.
      }
    }
  }

  _send(frame) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  _setStatus(status, detail) {
    if (this.status === status && status !== 'reconnecting') return;
    this.status = status;
    this.onStatus(status, detail);
  }

  _later(fn, ms) {
    const id = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.add(id);
    return id;
  }

  _cancel(id) {
    clearTimeout(id);
    this.timers.delete(id);
  }

  _clearTimers() {
    for (const id of this.timers) clearTimeout(id);
    this.timers.clear();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  /** An operation authorised by the connection token; a 403 gets one fresh token and a retry. */
  async _rest(path, body) {
    if (!this.connectionToken) throw new ParticipantError(0, 'NotConnected', 'Not connected to the chat yet.');
    try {
      return await this._call(path, body, this.connectionToken);
    } catch (error) {
      const retry = error instanceof ParticipantError && error.status === 403
        && this.status !== 'ended' && !this.leaving;
      if (!retry) throw error;
      // The connection token may have expired (they last a day); a chat that ended refuses again.
      const used = this.connectionToken;
      try {
        await this._createConnection(['CONNECTION_CREDENTIALS']);
      } catch (renewal) {
        if (renewal.ended) this._end('unavailable', renewal);
        throw error;
      }
      if (this.connectionToken === used) throw error;
      return this._call(path, body, this.connectionToken);
    }
  }

  async _call(path, body, bearer) {
    let response;
    try {
      response = await this.fetch(this.baseUrl + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Amz-Bearer': bearer },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new ParticipantError(0, 'NetworkError', error?.message || 'The network request failed.');
    }
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = null;
    }
    if (!response.ok) {
      const raw = response.headers.get('x-amzn-ErrorType') || json?.__type || json?.code || String(response.status);
      const code = raw.split(':')[0].split('#').pop();
      throw new ParticipantError(response.status, code, json?.Message || json?.message || `HTTP ${response.status}`);
    }
    return json ?? {};
  }
}
