// One chat of the agent: its participant connection and what the workspace shows of it
// (timeline, typing, receipts, unread count, messages being sent).

import { ContentType, ParticipantConnection, ParticipantError, itemTime, uuid } from './participant.js';

/** How long "… is typing" stays without another typing event (ChatJS uses the same 10 s). */
const TYPING_SHOWN_MS = 10_000;
/** The largest message SendMessage takes, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 16_384;

const MESSAGE_TYPES = new Set(['MESSAGE', 'ATTACHMENT']);

function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

/** The text of an interactive (bot) message: its title if it has one. */
function interactiveText(content) {
  try {
    const parsed = JSON.parse(content);
    const data = parsed?.data?.content ?? parsed?.data ?? {};
    return data.title || data.text || `Interactive message (${parsed.templateType || 'template'})`;
  } catch {
    return 'Interactive message';
  }
}

export class ChatSession {
  /**
   * `api`: the WorkspaceApi; `onChange()`: something shown changed; `announce(text)`: for the
   * screen-reader live region.
   */
  constructor(contactId, { api, onChange, announce }) {
    this.contactId = contactId;
    this.api = api;
    this.onChange = onChange;
    this.announce = announce;
    this.info = null;
    this.details = null;
    this.detailsError = null;
    this.items = new Map();
    this.order = 0;
    this.pending = [];
    this.typing = null;
    this.status = 'waiting';
    this.endReason = null;
    this.viewed = false;
    this.readThrough = 0;
    this.conn = null;
    /** Whether the transcript of a chat already over is being read (see `loadHistory`). */
    this.historyLoading = false;
    this.createdAt = Date.now();
    this.seenInState = false;
    this.ending = false;
    this.draft = '';
    /** `guideKey` of the guide view the agent answered (its buttons stay disabled). */
    this.guideAnswered = null;
    /** `guideKey` of a view the server said no longer waits (409) when the agent answered it. */
    this.guideRefused = null;
    /** What the agent entered in the guide's current view: `{key, values}`, kept across tab switches. */
    this.guideDraft = null;
  }

  // ---- connection ----------------------------------------------------------------------------

  /**
   * Follows the chat; without a token (after a reload) one is asked of the workspace API.
   * `participantId`, when the server says it, tells the agent's own items apart at once
   * (otherwise the connection learns it from the echo of the first thing it sends).
   */
  connect(participantToken, participantId) {
    if (this.conn) return;
    this.conn = new ParticipantConnection({
      participantToken,
      participantId,
      refreshToken: async () => {
        const answer = await this.api.participantToken(this.contactId);
        if (answer.participantId && this.conn && !this.conn.participantId) this.conn.participantId = answer.participantId;
        return answer.participantToken;
      },
      onItems: (items, source) => this._onItems(items, source),
      onStatus: (status, detail) => {
        this.status = status;
        if (status === 'ended') {
          this.endReason = detail?.reason || 'ended';
          this.typing = null;
          for (const entry of this.pending) if (entry.status === 'sending') entry.status = 'failed';
        }
        this.onChange();
      },
    });
    this.conn.start();
  }

  /**
   * Reads the conversation of a chat that ended for the agent before this page followed it
   * (a reload during after-contact work): the agent's own connection is gone, the workspace
   * API still serves the transcript.
   */
  async loadHistory() {
    if (this.historyLoading || this.conn) return;
    this.historyLoading = true;
    try {
      const answer = await this.api.transcript(this.contactId);
      this.status = 'ended';
      this._onItems(answer.transcript || [], 'transcript');
    } catch (_) {
      this.status = 'failed';
      this.onChange();
    }
  }

  /** Starts over with a fresh participant token (after the connection failed). */
  reconnect() {
    this.conn?.close();
    this.conn = null;
    this.status = 'waiting';
    this.endReason = null;
    this.connect(null);
    this.onChange();
  }

  /** Stops following the chat (cleared, signed out); does not leave it. */
  dispose() {
    this.conn?.close();
    clearTimeout(this.typingTimer);
  }

  get canSend() {
    return this.status === 'connected' && this.info?.state !== 'AFTER_CONTACT_WORK';
  }

  /** The step-by-step guide running for the contact's after-contact work (`contacts[].guide`), or null. */
  get guide() {
    return this.info?.guide ?? null;
  }

  get inAfterContactWork() {
    return this.info?.state === 'AFTER_CONTACT_WORK';
  }

  isSelf(item) {
    if (item._self) return true;
    const selfId = this.conn?.participantId;
    return selfId ? item.ParticipantId === selfId : item.ParticipantRole === 'AGENT';
  }

  // ---- incoming ------------------------------------------------------------------------------

  _onItems(items, source) {
    let newCustomerMessage = null;
    for (const item of items) {
      if (item.ContentType === ContentType.TYPING) {
        if (source === 'live' && !this.isSelf(item)) this._showTyping(item);
        continue;
      }
      // A provisional copy of one of our messages is replaced by the real item.
      this.items.set(item.Id, { ...item, _seq: this.items.get(item.Id)?._seq ?? this.order++ });
      // The socket's echo of a message still being sent can come before SendMessage answers:
      // the echo stands for it from now on, so it is never shown twice.
      if (source === 'live' && item.Type === 'MESSAGE' && this.isSelf(item)) {
        const index = this.pending.findIndex((p) => p.status === 'sending' && p.content === item.Content);
        if (index >= 0) this.pending.splice(index, 1)[0].echoed = true;
      }
      if (MESSAGE_TYPES.has(item.Type) && !this.isSelf(item)) {
        if (this.typing?.participantId === item.ParticipantId) this._clearTyping();
        if (item.ParticipantRole === 'CUSTOMER') newCustomerMessage = item;
        if (source === 'live') {
          this.announce(`${item.DisplayName || 'Customer'}: ${this.textOf(item)}`);
        }
      }
      if (item.Type === 'MESSAGEMETADATA') this._noteReceipt(item);
    }
    if (newCustomerMessage && source === 'live' && !this.viewed) {
      this.conn?.sendReceipt('delivered', newCustomerMessage.Id).catch(() => {});
    }
    this._readIfViewed();
    this.onChange();
  }

  /** Remembers receipts this agent already sent (from the transcript), so none is sent twice. */
  _noteReceipt(item) {
    const messageId = item.MessageMetadata?.MessageId;
    const message = messageId && this.items.get(messageId);
    if (!message || this.isSelf(message)) return;
    for (const receipt of item.MessageMetadata.Receipts || []) {
      if (receipt.RecipientParticipantId === message.ParticipantId) continue;
      if (receipt.ReadTimestamp) {
        this.conn?.noteReceipt('read', messageId);
        this.readThrough = Math.max(this.readThrough, itemTime(message));
      } else if (receipt.DeliveredTimestamp) {
        this.conn?.noteReceipt('delivered', messageId);
      }
    }
  }

  _showTyping(item) {
    this.typing = {
      participantId: item.ParticipantId,
      name: item.DisplayName || 'The customer',
    };
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this._clearTyping();
      this.onChange();
    }, TYPING_SHOWN_MS);
  }

  _clearTyping() {
    this.typing = null;
    clearTimeout(this.typingTimer);
  }

  // ---- reading -------------------------------------------------------------------------------

  /** Whether the agent is looking at this chat (its tab is open and the page visible). */
  setViewed(viewed) {
    if (this.viewed === viewed) return;
    this.viewed = viewed;
    this._readIfViewed();
    this.onChange();
  }

  /** Customer messages after the agent took the chat and after the last one read. */
  get unread() {
    const since = Math.max(this.readThrough, (this.info?.acceptedAt ?? 0) - 1_000);
    let count = 0;
    for (const item of this.items.values()) {
      if (item.Type === 'MESSAGE' || item.Type === 'ATTACHMENT') {
        if (item.ParticipantRole === 'CUSTOMER' && itemTime(item) > since) count += 1;
      }
    }
    return count;
  }

  /** Marks everything read while viewed, and sends one read receipt: for the newest customer message. */
  _readIfViewed() {
    if (!this.viewed) return;
    let newest = null;
    for (const item of this.items.values()) {
      if (item.Type === 'MESSAGE' && item.ParticipantRole === 'CUSTOMER'
          && (!newest || itemTime(item) >= itemTime(newest))) newest = item;
    }
    if (!newest) return;
    this.readThrough = Math.max(this.readThrough, itemTime(newest));
    if (this.status === 'connected') {
      this.conn.sendReceipt('read', newest.Id).catch(() => {});
    }
  }

  // ---- outgoing ------------------------------------------------------------------------------

  /** Sends a message; it shows at once as "sending" and becomes the real item when echoed. */
  sendMessage(text) {
    const content = text.trim() ? text.replace(/\s+$/, '') : '';
    if (!content) return { ok: false };
    if (utf8Length(content) > MAX_MESSAGE_BYTES) {
      return { ok: false, error: `The message is too long (at most ${MAX_MESSAGE_BYTES} bytes).` };
    }
    const entry = { clientToken: uuid(), content, status: 'sending', at: Date.now() };
    this.pending.push(entry);
    this.onChange();
    this._deliverPending(entry);
    return { ok: true };
  }

  /** Shares a file in the chat; failures are reported through `onError(message)`. */
  async sendAttachment(file, onError) {
    if (!this.canSend) return;
    this.uploading = (this.uploading || 0) + 1;
    this.onChange();
    try {
      await this.conn.sendAttachment(file);
    } catch (error) {
      onError(error instanceof ParticipantError ? error.message : String(error));
    } finally {
      this.uploading -= 1;
      this.onChange();
    }
  }

  /** A download URL of a file shared in the chat (they last five minutes). */
  attachmentUrl(attachmentId) {
    return this.conn ? this.conn.attachmentUrl(attachmentId) : Promise.reject(new Error('Not connected.'));
  }

  retry(clientToken) {
    const entry = this.pending.find((p) => p.clientToken === clientToken);
    if (!entry || !this.canSend) return;
    entry.status = 'sending';
    this.onChange();
    this._deliverPending(entry);
  }

  discard(clientToken) {
    this.pending = this.pending.filter((p) => p.clientToken !== clientToken);
    this.onChange();
  }

  async _deliverPending(entry) {
    try {
      const answer = await this.conn.sendMessage(entry.content, { clientToken: entry.clientToken });
      this.pending = this.pending.filter((p) => p !== entry);
      if (!this.items.has(answer.Id)) {
        // Shown until the socket's copy (the same Id) replaces it.
        this.items.set(answer.Id, {
          Id: answer.Id,
          AbsoluteTime: answer.AbsoluteTime,
          Type: 'MESSAGE',
          ContentType: ContentType.TEXT,
          Content: entry.content,
          ParticipantRole: 'AGENT',
          _self: true,
          _seq: this.order++,
        });
      }
    } catch (error) {
      // Echoed already: the message went through whatever the answer says.
      if (!entry.echoed) {
        entry.status = 'failed';
        entry.error = error instanceof ParticipantError ? error.message : String(error);
      }
    }
    this.onChange();
  }

  /** Called as the agent types: a typing event, throttled by the connection. */
  typed() {
    if (this.canSend) this.conn.sendTyping().catch(() => {});
  }

  /** DisconnectParticipant: the agent leaves; the server then moves the contact to after-contact work. */
  async endChat() {
    this.ending = true;
    this.onChange();
    try {
      await this.conn?.disconnect();
    } finally {
      this.ending = false;
      this.onChange();
    }
  }

  // ---- what is shown -------------------------------------------------------------------------

  textOf(item) {
    if (item.Type === 'ATTACHMENT') {
      const names = (item.Attachments || []).map((a) => a.AttachmentName).filter(Boolean);
      return `Attachment: ${names.join(', ') || 'file'}`;
    }
    if (item.ContentType === 'application/vnd.amazonaws.connect.message.interactive'
        || item.ContentType === 'application/vnd.amazonaws.connect.message.interactive.response') {
      return interactiveText(item.Content);
    }
    return item.Content ?? '';
  }

  noticeOf(item) {
    const self = this.isSelf(item);
    const name = item.DisplayName || (item.ParticipantRole === 'CUSTOMER' ? 'The customer' : 'A participant');
    switch (item.ContentType) {
      case ContentType.JOINED:
        return self ? 'You joined the chat' : `${name} joined the chat`;
      case ContentType.LEFT:
        if (self) return this.conn?.leaving ? 'You left the chat' : 'You are no longer in the chat';
        return `${name} left the chat`;
      case ContentType.IDLE:
        return self ? 'You are idle' : `${name} is idle`;
      case ContentType.RETURNED:
        return self ? 'You are back' : `${name} is back`;
      case ContentType.AUTO_DISCONNECTION:
        return self
          ? 'You were disconnected for inactivity'
          : `${name} was inactive for too long: the chat was disconnected`;
      case ContentType.CHAT_ENDED:
        return 'Chat ended';
      case ContentType.TRANSFER_SUCCEEDED:
        return 'Chat transferred';
      case ContentType.TRANSFER_FAILED:
        return 'Transfer failed';
      default:
        return null;
    }
  }

  /** Timeline entries in order: messages and notices, then messages still being sent. */
  get timeline() {
    const entries = [];
    for (const item of this.items.values()) {
      if (MESSAGE_TYPES.has(item.Type)) {
        entries.push({
          kind: 'message',
          id: item.Id,
          self: this.isSelf(item),
          role: item.ParticipantRole || 'SYSTEM',
          name: item.DisplayName,
          text: this.textOf(item),
          attachments: item.Type === 'ATTACHMENT' ? item.Attachments || [] : null,
          time: itemTime(item),
          seq: item._seq,
        });
      } else if (item.Type === 'EVENT') {
        const text = this.noticeOf(item);
        if (text) entries.push({ kind: 'notice', id: item.Id, text, time: itemTime(item), seq: item._seq, contentType: item.ContentType });
      }
    }
    entries.sort((a, b) => a.time - b.time || a.seq - b.seq);
    const readId = this._lastReadOwnMessage();
    for (const entry of entries) entry.read = entry.id === readId;
    for (const p of this.pending) {
      entries.push({
        kind: 'message',
        id: p.clientToken,
        self: true,
        role: 'AGENT',
        text: p.content,
        time: p.at,
        pending: p.status,
        error: p.error,
      });
    }
    return entries;
  }

  /** The newest of the agent's messages that another participant has read. */
  _lastReadOwnMessage() {
    const read = new Set();
    for (const item of this.items.values()) {
      if (item.Type !== 'MESSAGEMETADATA') continue;
      const messageId = item.MessageMetadata?.MessageId;
      const message = messageId && this.items.get(messageId);
      if (!message || !this.isSelf(message)) continue;
      if ((item.MessageMetadata.Receipts || []).some((r) => r.ReadTimestamp && r.RecipientParticipantId !== message.ParticipantId)) {
        read.add(messageId);
      }
    }
    let newest = null;
    for (const id of read) {
      const message = this.items.get(id);
      if (!newest || itemTime(message) > itemTime(newest)
          || (itemTime(message) === itemTime(newest) && message._seq > newest._seq)) newest = message;
    }
    return newest?.Id ?? null;
  }
}
