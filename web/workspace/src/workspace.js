// The workspace's state: the session, the agent state the server pushes, and the chats.
// Components read it through `useWorkspace()` and call its methods; every change re-renders.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, EventsSocket, WorkspaceApi, signIn } from './api.js';
import { ChatSession } from './chat.js';

const SESSION_KEY = 'liaison.workspace.session';
/** A chat the agent just accepted is kept even if a state push from before the accept lacks it. */
const FRESH_CHAT_MS = 10_000;
/** After an accepted guide answer, the state is read again if no push has moved the guide on by then. */
const GUIDE_RECHECK_MS = 3_000;

/** Tells one shown view of a guide from the next (each Show view block sets a new deadline). */
export function guideKey(guide) {
  return guide?.view ? `${guide.contactId}|${guide.view.ref}|${guide.deadline}` : null;
}

function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (session?.token && (!session.expiresAt || session.expiresAt > Date.now())) return session;
  } catch {
    // A damaged entry is the same as none.
  }
  return null;
}

export class Workspace {
  constructor() {
    this.listeners = new Set();
    this.session = loadSession();
    this.phase = this.session ? 'restoring' : 'signed-out';
    this.state = null;
    this.clockOffset = 0;
    this.chats = new Map();
    this.activeId = null;
    this.eventsStatus = 'connecting';
    this.toasts = [];
    this.announcement = '';
    this.busy = new Set();
    this.signOutReason = null;
    this.pageVisible = typeof document === 'undefined' || document.visibilityState === 'visible';
    this.toastId = 0;
    /** `workspace` (offers and chats) or `supervisor` (queues and agents, for supervisors). */
    this.page = 'workspace';
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    if (this.pendingEmit) return;
    this.pendingEmit = true;
    queueMicrotask(() => {
      this.pendingEmit = false;
      for (const listener of this.listeners) listener();
    });
  }

  /** Server time now, for offer countdowns. */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  /** Whether the signed-in user may open the supervisor page. */
  get isSupervisor() {
    return !!(this.state?.agent || this.session?.agent)?.isSupervisor;
  }

  /** Shows `workspace` or (for supervisors) `supervisor`. */
  showPage(page) {
    const next = page === 'supervisor' && this.isSupervisor ? 'supervisor' : 'workspace';
    if (this.page === next) return;
    this.page = next;
    this._updateViewed();
    this.changed();
  }

  // ---- session -------------------------------------------------------------------------------

  async start() {
    window.addEventListener('online', () => {
      this.events?.nudge();
      for (const chat of this.chats.values()) chat.conn?.nudge();
    });
    document.addEventListener('visibilitychange', () => {
      this.pageVisible = document.visibilityState === 'visible';
      this._updateViewed();
    });
    if (this.session) await this._begin();
  }

  async signIn(username, password, instanceId) {
    const answer = await signIn(username, password, instanceId);
    this.session = { token: answer.token, expiresAt: answer.expiresAt, agent: answer.agent };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.session));
    this.signOutReason = null;
    this.phase = 'restoring';
    this.changed();
    await this._begin();
  }

  async _begin() {
    this.api = new WorkspaceApi(this.session.token, () => this._ended('Your session has ended. Sign in again.'));
    try {
      this.applyState(await this.api.state());
    } catch (error) {
      if (error.status === 401) return;
      // Liaison unreachable: the events socket keeps trying and fills the state in.
      this.toast(error.message, 'error');
    }
    this.phase = 'ready';
    this.events = new EventsSocket(this.api, {
      onState: (state) => this.applyState(state),
      onStatus: (status) => {
        this.eventsStatus = status;
        this.changed();
      },
      onSessionEnded: () => this._ended('Your session has ended. Sign in again.'),
    });
    this.events.start();
    this.changed();
  }

  async signOut() {
    try {
      await this.api?.signOut();
    } catch {
      // Signed out here either way.
    }
    this._ended(null);
  }

  /** Back to the sign-in page: the session ended (401, close 4001) or the agent signed out. */
  _ended(reason) {
    this.events?.stop();
    this.events = null;
    for (const chat of this.chats.values()) chat.dispose();
    this.chats.clear();
    this.activeId = null;
    this.state = null;
    this.session = null;
    this.api = null;
    sessionStorage.removeItem(SESSION_KEY);
    this.signOutReason = reason;
    this.page = 'workspace';
    this.phase = 'signed-out';
    this.changed();
  }

  // ---- state ---------------------------------------------------------------------------------

  applyState(state) {
    if (!state || !this.session) return;
    const previousOffers = new Set((this.state?.offers || []).map((o) => o.contactId));
    this.state = state;
    this.clockOffset = state.now - Date.now();
    if (state.agent) this.session.agent = state.agent;

    for (const offer of state.offers || []) {
      if (!previousOffers.has(offer.contactId)) {
        this.announce(`Incoming chat from ${offer.customerName || 'a customer'} in ${offer.queueName || 'a queue'}`);
      }
    }

    const listed = new Set();
    for (const contact of state.contacts || []) {
      listed.add(contact.contactId);
      let chat = this.chats.get(contact.contactId);
      if (!chat) chat = this._addChat(contact.contactId);
      const guideBefore = guideKey(chat.guide);
      const hadGuide = !!chat.guide;
      chat.info = contact;
      const guideNow = guideKey(chat.guide);
      // A guide that ended may have written its results onto the contact's attributes.
      if (hadGuide && !chat.guide) this.loadDetails(chat);
      if (guideNow && guideNow !== guideBefore && !(this.page === 'workspace' && contact.contactId === this.activeId)) {
        this.announce(`A guide is waiting in the chat with ${contact.customerName || 'the customer'}.`);
      }
      chat.seenInState = true;
      if (contact.state === 'CONNECTED' && !chat.conn && !chat.accepting) chat.connect(null);
      if (contact.state === 'AFTER_CONTACT_WORK' && !chat.conn && chat.items.size === 0) chat.loadHistory();
    }
    for (const [id, chat] of this.chats) {
      const fresh = !chat.seenInState && Date.now() - chat.createdAt < FRESH_CHAT_MS;
      if (!listed.has(id) && !fresh) {
        chat.dispose();
        this.chats.delete(id);
      }
    }
    if (!this.activeId || !this.chats.has(this.activeId)) {
      this.activeId = this.chats.keys().next().value ?? null;
    }
    if (this.page === 'supervisor' && !this.isSupervisor) this.page = 'workspace';
    this._updateViewed();
    this.changed();
  }

  _addChat(contactId, { details = true } = {}) {
    const chat = new ChatSession(contactId, {
      api: this.api,
      onChange: () => this.changed(),
      // The open chat's transcript is a live region of its own; others are announced here.
      announce: (text) => {
        if (!chat.viewed) this.announce(`New message in chat with ${chat.info?.customerName || 'customer'}. ${text}`);
      },
    });
    this.chats.set(contactId, chat);
    if (details) this.loadDetails(chat);
    return chat;
  }

  async loadDetails(chat) {
    try {
      chat.details = await this.api.contact(chat.contactId);
      chat.detailsError = null;
    } catch (error) {
      if (!chat.details) chat.detailsError = error.message;
    }
    this.changed();
  }

  select(contactId) {
    if (!this.chats.has(contactId) || this.activeId === contactId) return;
    this.activeId = contactId;
    this._updateViewed();
    this.loadDetails(this.chats.get(contactId));
    this.changed();
  }

  _updateViewed() {
    const shown = this.pageVisible && this.page === 'workspace';
    for (const [id, chat] of this.chats) chat.setViewed(shown && id === this.activeId);
  }

  /** Reads the whole state again (after an answer the server refused, say). */
  async refreshState() {
    if (!this.api) return;
    try {
      this.applyState(await this.api.state());
    } catch {
      // The events socket keeps the state current once Liaison answers again.
    }
  }

  // ---- actions -------------------------------------------------------------------------------

  async _act(key, action) {
    if (this.busy.has(key)) return undefined;
    this.busy.add(key);
    this.changed();
    try {
      return await action();
    } catch (error) {
      if (error.status !== 401) this.toast(error.message || String(error), 'error');
      return undefined;
    } finally {
      this.busy.delete(key);
      this.changed();
    }
  }

  setStatus(agentStatusId) {
    return this._act('status', async () => this.applyState(await this.api.setStatus(agentStatusId)));
  }

  accept(offer) {
    return this._act(`offer:${offer.contactId}`, async () => {
      let chat = this.chats.get(offer.contactId);
      const created = !chat;
      if (!chat) {
        chat = this._addChat(offer.contactId, { details: false });
        chat.info = { contactId: offer.contactId, customerName: offer.customerName, queueName: offer.queueName, state: 'CONNECTED' };
      }
      chat.accepting = true;
      try {
        const answer = await this.api.accept(offer.contactId);
        chat.accepting = false;
        chat.connect(answer.participantToken, answer.participantId);
        this.loadDetails(chat);
        this.activeId = offer.contactId;
        this._updateViewed();
      } catch (error) {
        chat.accepting = false;
        if (created) {
          chat.dispose();
          this.chats.delete(offer.contactId);
        }
        if (error instanceof ApiError && error.code === 'OfferClosed') {
          this.toast(`The chat from ${offer.customerName || 'the customer'} is no longer available.`, 'info');
          this._dropOffer(offer.contactId);
          return;
        }
        throw error;
      }
    });
  }

  reject(offer) {
    return this._act(`offer:${offer.contactId}`, async () => {
      try {
        await this.api.reject(offer.contactId);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'OfferClosed')) throw error;
      }
      this._dropOffer(offer.contactId);
    });
  }

  _dropOffer(contactId) {
    if (!this.state) return;
    this.state = { ...this.state, offers: (this.state.offers || []).filter((o) => o.contactId !== contactId) };
  }

  endChat(contactId) {
    const chat = this.chats.get(contactId);
    if (!chat) return undefined;
    return this._act(`end:${contactId}`, () => chat.endChat());
  }

  clearContact(contactId) {
    return this._act(`clear:${contactId}`, async () => {
      await this.api.clear(contactId);
      const chat = this.chats.get(contactId);
      chat?.dispose();
      this.chats.delete(contactId);
      if (this.state) {
        this.state = { ...this.state, contacts: (this.state.contacts || []).filter((c) => c.contactId !== contactId) };
      }
      if (this.activeId === contactId) this.activeId = this.chats.keys().next().value ?? null;
      this._updateViewed();
    });
  }

  /**
   * Answers the view the contact's guide shows (`action` one of `guide.view.actions`). The
   * view's buttons stay disabled until the guide moves on (the next state push); 409 means the
   * guide no longer waits for this view, so the state is read again.
   */
  answerGuide(contactId, action, viewResultData = {}) {
    const chat = this.chats.get(contactId);
    const key = guideKey(chat?.guide);
    if (!key) return undefined;
    return this._act(`guide:${contactId}`, async () => {
      chat.guideSending = action;
      try {
        await this.api.answerGuide(contactId, action, viewResultData);
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          chat.guideAnswered = key;
          chat.guideRefused = key;
          await this.refreshState();
          return;
        }
        throw error;
      } finally {
        chat.guideSending = null;
      }
      chat.guideAnswered = key;
      setTimeout(() => {
        if (this.chats.get(contactId) === chat && guideKey(chat.guide) === key) this.refreshState();
      }, GUIDE_RECHECK_MS);
    });
  }

  // ---- messages for people -------------------------------------------------------------------

  toast(text, tone = 'info') {
    const id = ++this.toastId;
    this.toasts = [...this.toasts, { id, text, tone }];
    setTimeout(() => this.dismissToast(id), tone === 'error' ? 8_000 : 5_000);
    this.changed();
  }

  dismissToast(id) {
    this.toasts = this.toasts.filter((t) => t.id !== id);
    this.changed();
  }

  /** Text for the screen-reader live region. */
  announce(text) {
    // Re-announcing the same text needs a change; a trailing zero-width space makes one.
    this.announcement = this.announcement === text ? `${text}\u200b` : text;
    this.changed();
  }
}

export const workspace = new Workspace();

/** Re-renders the calling component whenever the workspace changes. */
export function useWorkspace() {
  const [, setVersion] = useState(0);
  useEffect(() => workspace.subscribe(() => setVersion((v) => v + 1)), []);
  return workspace;
}
