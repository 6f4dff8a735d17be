// One customer chat through ChatJS: the session, its timeline (messages and notices, without
// duplicates), who is typing, which of the customer's messages were read, and the read
// receipts the customer sends. No DOM; the widget renders `timeline`, `typing` and `readId`.
import 'amazon-connect-chatjs'; // defines the global `connect`

export const CT = {
  PLAIN: 'text/plain',
  MARKDOWN: 'text/markdown',
  TYPING: 'application/vnd.amazonaws.connect.event.typing',
  READ: 'application/vnd.amazonaws.connect.event.message.read',
  JOINED: 'application/vnd.amazonaws.connect.event.participant.joined',
  LEFT: 'application/vnd.amazonaws.connect.event.participant.left',
  IDLE: 'application/vnd.amazonaws.connect.event.participant.idle',
  RETURNED: 'application/vnd.amazonaws.connect.event.participant.returned',
  AUTO_DISCONNECTION: 'application/vnd.amazonaws.connect.event.participant.autodisconnection',
  ENDED: 'application/vnd.amazonaws.connect.event.chat.ended',
};

const NOTICE_EVENTS = {
  [CT.JOINED]: 'joined',
  [CT.LEFT]: 'left',
  [CT.IDLE]: 'idle',
  [CT.RETURNED]: 'returned',
  [CT.AUTO_DISCONNECTION]: 'autodisconnection',
  [CT.ENDED]: 'ended',
};

const TYPING_SHOWN_MS = 12000;
const TYPING_SENT_EVERY_MS = 8000;

function chatjs() {
  const c = globalThis.connect;
  if (!c || !c.ChatSession) throw new Error('ChatJS did not load.');
  return c;
}

function timeOf(item) {
  const t = item && item.AbsoluteTime ? Date.parse(item.AbsoluteTime) : NaN;
  return Number.isFinite(t) ? t : Date.now();
}

let localCounter = 0;

export class Chat {
  /**
   * @param details `{ContactId, ParticipantId, ParticipantToken}` (what start-chat answered)
   * @param endpoint the participant endpoint; region: its region
   * @param hooks `{changed(), emit(event, data), incoming(entry)}`
   */
  constructor({ details, endpoint, region, enableLogs, hooks }) {
    this.details = {
      ContactId: details.ContactId,
      ParticipantId: details.ParticipantId,
      ParticipantToken: details.ParticipantToken,
    };
    this.endpoint = endpoint;
    this.region = region;
    this.enableLogs = enableLogs;
    this.hooks = hooks;
    /** 'connecting' | 'connected' | 'reconnecting' | 'ended' */
    this.status = 'connecting';
    /** Entries, oldest first: {key, kind: 'message'|'notice', ...}. */
    this.timeline = [];
    this.byId = new Map();
    this.typing = null; // {role, displayName}
    this.readIds = new Set();
    this.sentReads = new Set();
    this.lastTypingSent = 0;
    this.session = null;
    this.wasBroken = false;
    this.typingTimer = null;
  }

  get contactId() {
    return this.details.ContactId;
  }

  get ended() {
    return this.status === 'ended';
  }

  changed() {
    this.hooks.changed();
  }

  /** Creates the ChatJS session and connects it (CreateParticipantConnection and the socket). */
  async connect() {
    const connect = chatjs();
    connect.ChatSession.setGlobalConfig({
      region: this.region,
      endpoint: this.endpoint,
      loggerConfig: {
        useDefaultLogger: !!this.enableLogs,
        level: this.enableLogs ? connect.LogLevel.DEBUG : connect.LogLevel.ERROR,
      },
      features: { messageReceipts: { shouldSendMessageReceipts: true, throttleTime: 1000 } },
    });
    const session = connect.ChatSession.create({
      chatDetails: this.details,
      options: { region: this.region },
      type: connect.ChatSession.SessionTypes.CUSTOMER,
      disableCSM: true, // no client-side metrics posted to AWS
    });
    this.session = session;
    const live = (fn) => (event) => {
      if (this.session !== session) return; // a discarded session
      try {
        fn(event && event.data, event);
      } catch (error) {
        console.error('Liaison widget:', error);
      }
    };
    session.onMessage(live((item) => this.ingest(item, true)));
    session.onParticipantIdle(live((item) => this.ingest(item, true)));
    session.onParticipantReturned(live((item) => this.ingest(item, true)));
    session.onAutoDisconnection(live((item) => this.ingest(item, true)));
    session.onTyping(live((item) => this.onTyping(item)));
    session.onReadReceipt(live((item) => this.receipt(item)));
    session.onEnded(live((item) => this.markEnded(item)));
    session.onConnectionBroken(live(() => this.setStatus('reconnecting')));
    session.onConnectionLost(live(() => this.setStatus('reconnecting')));
    session.onConnectionEstablished(
      live(() => {
        const again = this.wasBroken;
        this.setStatus('connected');
        this.hooks.emit('CONNECTION_ESTABLISHED', null);
        // Whatever came while the socket was down.
        if (again) this.loadTranscript().catch(() => {});
      }),
    );
    const result = await session.connect();
    if (result && result.connectSuccess === false) {
      throw new Error('Could not connect to the chat.');
    }
    if (this.status === 'connecting') this.setStatus('connected');
  }

  /** Drops the session without ending the chat (the page is replacing it). */
  discard() {
    this.session = null;
    clearTimeout(this.typingTimer);
  }

  setStatus(status) {
    if (this.status === 'ended' || this.status === status) return;
    if (status === 'reconnecting') this.wasBroken = true;
    this.status = status;
    this.changed();
  }

  /** The latest 100 items (a restored chat's history, or what a broken socket missed). */
  async loadTranscript() {
    if (!this.session) return;
    const r = await this.session.getTranscript({ maxResults: 100, sortOrder: 'ASCENDING', scanDirection: 'BACKWARD' });
    const items = (r && r.data && r.data.Transcript) || [];
    let added = false;
    for (const item of items) added = this.ingest(item, false) || added;
    if (added) {
      // Stable sort by server time; messages still being sent stay last.
      this.timeline = this.timeline
        .map((entry, i) => ({ entry, i }))
        .sort((a, b) => (a.entry.time - b.entry.time) || (a.i - b.i))
        .map((x) => x.entry);
      this.changed();
    }
  }

  /** One chat item from ChatJS (pushed, or from the transcript); returns whether it was new. */
  ingest(item, live) {
    if (!item || typeof item !== 'object') return false;
    const contentType = item.ContentType || '';
    if (item.Type === 'MESSAGEMETADATA' || item.MessageMetadata) {
      this.receipt(item);
      return false;
    }
    if (contentType === CT.TYPING) {
      if (live) this.onTyping(item);
      return false;
    }
    if (item.Id && this.byId.has(item.Id)) return false;
    const mine = item.ParticipantId === this.details.ParticipantId || (!item.ParticipantId && item.ParticipantRole === 'CUSTOMER');
    const base = {
      id: item.Id || null,
      role: item.ParticipantRole || (item.Type === 'EVENT' ? 'SYSTEM' : ''),
      participantId: item.ParticipantId || null,
      displayName: item.DisplayName || '',
      time: timeOf(item),
      mine,
    };
    let entry = null;
    if (item.Type === 'MESSAGE' || item.Type === 'ATTACHMENT') {
      if (mine && item.Id) {
        // The echo of a message this page sent: the pending entry gets its id.
        const pending = this.timeline.find((e) => e.kind === 'message' && e.mine && !e.id && e.content === item.Content);
        if (pending) {
          pending.id = item.Id;
          pending.status = 'sent';
          pending.time = base.time;
          this.byId.set(item.Id, pending);
          this.changed();
          return false;
        }
      }
      const attachment = item.Type === 'ATTACHMENT' || (Array.isArray(item.Attachments) && item.Attachments.length > 0);
      entry = {
        ...base,
        key: item.Id || `item-${(localCounter += 1)}`,
        kind: 'message',
        contentType: attachment ? CT.PLAIN : contentType,
        content: attachment
          ? `Attachment: ${((item.Attachments || [])[0] || {}).AttachmentName || 'file'}`
          : String(item.Content ?? ''),
        attachments: attachment ? item.Attachments || [] : null,
        status: 'sent',
      };
    } else if (NOTICE_EVENTS[contentType]) {
      const event = NOTICE_EVENTS[contentType];
      // The customer's own comings and goings are not news to them.
      if (mine && (event === 'joined' || event === 'left')) {
        if (item.Id) this.byId.set(item.Id, null);
        return false;
      }
      if (event === 'ended' && this.timeline.some((e) => e.event === 'ended')) return false;
      entry = { ...base, key: item.Id || `event-${(localCounter += 1)}`, kind: 'notice', event };
    } else {
      if (item.Id) this.byId.set(item.Id, null);
      return false; // other events (transfers, views…) are not shown
    }
    if (item.Id) this.byId.set(item.Id, entry);
    this.timeline.push(entry);
    if (entry.kind === 'message' && !mine && this.typing && this.typing.participantId === entry.participantId) {
      this.clearTyping();
    }
    if (live) {
      if (entry.kind === 'message') {
        this.hooks.emit('INCOMING_MESSAGE', item);
        if (!mine) this.hooks.incoming(entry);
      }
      this.changed();
    }
    if (entry.event === 'ended') this.markEnded(item);
    return true;
  }

  onTyping(item) {
    if (!item || item.ParticipantRole === 'CUSTOMER' || item.ParticipantId === this.details.ParticipantId) return;
    this.hooks.emit('INCOMING_TYPING', item);
    this.typing = { role: item.ParticipantRole || '', displayName: item.DisplayName || '', participantId: item.ParticipantId };
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.clearTyping(), TYPING_SHOWN_MS);
    this.changed();
  }

  clearTyping() {
    clearTimeout(this.typingTimer);
    if (!this.typing) return;
    this.typing = null;
    this.changed();
  }

  /** A delivered/read receipt (`MESSAGEMETADATA`): remember what the other side read. */
  receipt(item) {
    const meta = item && item.MessageMetadata;
    if (!meta || !meta.MessageId || !Array.isArray(meta.Receipts)) return;
    // The customer's own receipts (in a restored transcript): not to be sent again.
    if (meta.Receipts.some((r) => r && r.ReadTimestamp && r.RecipientParticipantId === this.details.ParticipantId)) {
      this.sentReads.add(meta.MessageId);
    }
    const readByOther = meta.Receipts.some(
      (r) => r && r.ReadTimestamp && r.RecipientParticipantId !== this.details.ParticipantId,
    );
    if (!readByOther || this.readIds.has(meta.MessageId)) return;
    this.readIds.add(meta.MessageId);
    this.hooks.emit('INCOMING_READ_RECEIPT', item);
    this.changed();
  }

  /** The id of the customer's latest message the other side has read. */
  get readId() {
    for (let i = this.timeline.length - 1; i >= 0; i -= 1) {
      const e = this.timeline[i];
      if (e.kind === 'message' && e.mine && e.id && this.readIds.has(e.id)) return e.id;
    }
    return null;
  }

  /** Sends read receipts for the other side's messages (the customer has the pane open). */
  markRead() {
    if (!this.session || this.status === 'ended') return;
    for (const e of this.timeline) {
      if (e.kind !== 'message' || e.mine || !e.id || this.sentReads.has(e.id)) continue;
      this.sentReads.add(e.id);
      this.session
        .sendEvent({ contentType: CT.READ, content: JSON.stringify({ messageId: e.id }) })
        .catch(() => {});
    }
  }

  /** Sends `text` as the customer; the timeline shows it at once, marked until it is sent. */
  async send(text) {
    const entry = {
      key: `local-${(localCounter += 1)}`,
      kind: 'message',
      id: null,
      role: 'CUSTOMER',
      participantId: this.details.ParticipantId,
      displayName: '',
      time: Number.MAX_SAFE_INTEGER,
      mine: true,
      contentType: CT.PLAIN,
      content: text,
      status: 'sending',
    };
    this.timeline.push(entry);
    this.changed();
    await this.deliver(entry);
  }

  async deliver(entry) {
    entry.status = 'sending';
    this.changed();
    try {
      const r = await this.session.sendMessage({ contentType: CT.PLAIN, message: entry.content });
      const id = r && r.data && r.data.Id;
      if (id && !entry.id) {
        if (this.byId.has(id)) {
          // The echo came first and was shown on its own: keep that one.
          this.timeline = this.timeline.filter((e) => e !== entry);
        } else {
          entry.id = id;
          entry.time = timeOf(r.data);
          this.byId.set(id, entry);
        }
      }
      entry.status = 'sent';
      this.lastTypingSent = 0;
    } catch (error) {
      console.warn('Liaison widget: the message was not sent', error);
      entry.status = 'failed';
    }
    this.changed();
  }

  /**
   * Shares a file (ChatJS sendAttachment: upload, then completion); the chat shows it when the
   * server's ATTACHMENT item arrives. Resolves to an error message, or null.
   */
  async sendFile(file) {
    this.uploading = (this.uploading || 0) + 1;
    this.changed();
    try {
      await this.session.sendAttachment({ attachment: file });
      return null;
    } catch (error) {
      console.warn('Liaison widget: the file was not shared', error);
      return error?.message || 'The file could not be shared.';
    } finally {
      this.uploading -= 1;
      this.changed();
    }
  }

  /** A short-lived download URL of a file shared in the chat. */
  attachmentUrl(attachmentId) {
    return this.session.getAttachmentURL({ attachmentId });
  }

  /** Sends a failed message again. */
  retry(key) {
    const entry = this.timeline.find((e) => e.key === key && e.status === 'failed');
    if (entry) this.deliver(entry);
  }

  /** The customer is typing: tell the other side, at most every few seconds. */
  typed() {
    const now = Date.now();
    if (!this.session || this.status !== 'connected' || now - this.lastTypingSent < TYPING_SENT_EVERY_MS) return;
    this.lastTypingSent = now;
    this.session.sendEvent({ contentType: CT.TYPING }).catch(() => {});
  }

  /** The customer ends the chat (DisconnectParticipant); the server then ends it for everyone. */
  async end() {
    if (!this.session || this.status === 'ended') return;
    try {
      await this.session.disconnectParticipant();
    } catch (error) {
      console.warn('Liaison widget: DisconnectParticipant failed', error);
    }
    // chat.ended normally arrives on the socket; make sure the chat is over here regardless.
    setTimeout(() => this.markEnded(null), 3000);
  }

  markEnded(item) {
    if (this.status === 'ended') return;
    if (!this.timeline.some((e) => e.event === 'ended')) {
      this.timeline.push({
        key: (item && item.Id) || `event-${(localCounter += 1)}`,
        kind: 'notice',
        event: 'ended',
        id: (item && item.Id) || null,
        role: 'SYSTEM',
        displayName: '',
        time: timeOf(item),
        mine: false,
      });
    }
    this.status = 'ended';
    this.clearTyping();
    this.hooks.emit('CHAT_ENDED', item);
    this.hooks.ended();
    this.changed();
  }
}
