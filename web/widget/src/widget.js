// The widget on one page: its settings (Liaison's config for the widget, merged with the
// snippet's), whether the pane is open, and the chat: started when the customer first opens
// the pane, restored after a page reload from localStorage, ended by either side.
import { WidgetApiError, fetchConfig, startChat } from './api.js';
import { Chat } from './chat.js';
import { applyCommand, askPage, newSettings } from './snippet.js';

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function mergeStyles(into, from) {
  const out = { ...into };
  for (const [key, value] of Object.entries(from || {})) {
    out[key] = isObject(value) && isObject(out[key]) ? { ...out[key], ...value } : value;
  }
  return out;
}

/** localStorage that may be missing or refuse (private modes, sandboxed frames). */
const storage = {
  get(key) {
    try {
      const text = window.localStorage.getItem(key);
      return text ? JSON.parse(text) : null;
    } catch (_) {
      return null;
    }
  },
  set(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (_) {
      /* the chat just won't survive a reload */
    }
  },
  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (_) {
      /* nothing to do */
    }
  },
};

export class Widget {
  constructor({ widgetId, base }) {
    this.widgetId = widgetId;
    this.base = base;
    this.settings = newSettings();
    this.storageKey = `liaison-widget:${widgetId}`;
    this.config = null;
    this.configError = null;
    this.configPromise = null;
    /** Whether the launcher may show (the widget's settings arrived, or failed to). */
    this.ready = false;
    this.open = false;
    /** 'idle' | 'starting' | 'restoring' | 'chat' | 'error' */
    this.phase = 'idle';
    this.error = null;
    this.chat = null;
    this.unread = 0;
    this.listeners = new Set();
    this.version = 0;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify() {
    this.version += 1;
    for (const fn of this.listeners) fn(this.version);
  }

  /** A snippet command (`amazon_connect(name, ...args)`). */
  command(name, args) {
    if (typeof name !== 'string') {
      console.warn('Liaison widget: a command needs a name; ignored.', name);
      return;
    }
    if (applyCommand(this.settings, name, args)) this.notify();
    if (name === 'customLaunchBehavior' && this.booted) this.applyLaunchBehavior();
  }

  boot() {
    this.booted = true;
    this.loadConfig();
    // Show the launcher once the settings are in, or after a moment without them.
    setTimeout(() => this.setReady(), 3000);
    this.restore();
    this.applyLaunchBehavior();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.open && this.chat) this.chat.markRead();
    });
  }

  setReady() {
    if (this.ready) return;
    this.ready = true;
    this.notify();
  }

  applyLaunchBehavior() {
    const launch = this.settings.launch || {};
    if (typeof launch.programmaticLaunch === 'function' && !this.programmatic) {
      this.programmatic = true;
      try {
        launch.programmaticLaunch(() => this.openPane());
      } catch (error) {
        console.warn('Liaison widget: programmaticLaunch threw', error);
      }
    }
    if (launch.skipIconButtonAndAutoLaunch && !this.autoLaunched) {
      this.autoLaunched = true;
      this.openPane();
    }
  }

  get hideLauncher() {
    const launch = this.settings.launch || {};
    return !!(launch.alwaysHideWidgetButton || launch.skipIconButtonAndAutoLaunch);
  }

  loadConfig() {
    this.configPromise = fetchConfig(this.base, this.widgetId).then(
      (config) => {
        this.config = config;
        this.configError = null;
        this.setReady();
        this.notify();
        return config;
      },
      (error) => {
        this.configError = error;
        this.setReady();
        this.notify();
        throw error;
      },
    );
    this.configPromise.catch(() => {});
    return this.configPromise;
  }

  /** The widget's settings, fetched again if they failed before. */
  ensureConfig() {
    if (this.config) return Promise.resolve(this.config);
    if (this.configError || !this.configPromise) return this.loadConfig();
    return this.configPromise;
  }

  /** Liaison's styles for the widget with the snippet's on top. */
  get styles() {
    return mergeStyles((this.config && this.config.Styles) || {}, this.settings.styles);
  }

  get headerText() {
    const header = isObject(this.settings.customDisplayNames.header) ? this.settings.customDisplayNames.header : {};
    return header.headerMessage || this.styles.headerText || 'Chat with us';
  }

  /** The name shown for a participant of `role` whose own display name is `displayName`. */
  label(role, displayName) {
    const configured = (this.config && this.config.DisplayNames) || {};
    const transcript = isObject(this.settings.customDisplayNames.transcript)
      ? this.settings.customDisplayNames.transcript
      : {};
    switch (role) {
      case 'AGENT':
        return transcript.agentMessageDisplayName || configured.Agent || displayName || 'Agent';
      case 'SYSTEM':
        return (
          transcript.systemMessageDisplayName ||
          configured.System ||
          (displayName && displayName !== 'SYSTEM_MESSAGE' ? displayName : 'System')
        );
      case 'CUSTOM_BOT':
      case 'BOT':
        return transcript.botMessageDisplayName || configured.Bot || displayName || 'Bot';
      case 'CUSTOMER':
        return 'You';
      default:
        return displayName || 'Support';
    }
  }

  // ---- the pane ----

  toggle() {
    if (this.open) this.closePane();
    else this.openPane();
  }

  openPane() {
    if (!this.open) {
      this.open = true;
      this.unread = 0;
      this.persist();
      this.notify();
    }
    if (this.phase === 'idle') this.start();
    else if (this.chat) this.chat.markRead();
  }

  closePane() {
    if (!this.open) return;
    this.open = false;
    this.persist();
    this.notify();
  }

  /** The other side said something: count it on the launcher, or mark it read. */
  incoming() {
    if (this.open && document.visibilityState !== 'hidden') {
      this.chat.markRead();
    } else if (!this.open) {
      this.unread += 1;
    }
  }

  // ---- chats ----

  hooks(chatRef) {
    return {
      changed: () => {
        if (this.chat === chatRef.chat) this.notify();
      },
      emit: (event, data) => this.emit(event, data),
      incoming: () => {
        if (this.chat === chatRef.chat) this.incoming();
      },
      ended: () => {
        if (this.chat === chatRef.chat) storage.remove(this.storageKey);
      },
    };
  }

  newChat({ details, endpoint, region }) {
    const ref = {};
    ref.chat = new Chat({ details, endpoint, region, enableLogs: this.settings.enableLogs, hooks: this.hooks(ref) });
    return ref.chat;
  }

  emit(event, data) {
    const fns = this.settings.callbacks[event] || [];
    const chatDetails = this.chat ? { ...this.chat.details } : null;
    for (const fn of fns) {
      try {
        fn(event, { chatDetails, data });
      } catch (error) {
        console.warn(`Liaison widget: the page's ${event} callback threw`, error);
      }
    }
  }

  persist() {
    const chat = this.chat;
    if (!chat || chat.ended) return;
    storage.set(this.storageKey, {
      chatDetails: chat.details,
      endpoint: chat.endpoint,
      region: chat.region,
      paneOpen: this.open,
    });
  }

  fail(message) {
    this.phase = 'error';
    this.error = message;
    this.notify();
  }

  /** Starts a chat: token (security on), name and attributes from the page, then ChatJS. */
  async start() {
    if (this.phase === 'starting' || this.phase === 'restoring') return;
    if (this.chat) this.chat.discard();
    this.chat = null;
    this.phase = 'starting';
    this.error = null;
    this.notify();
    let started;
    try {
      const config = await this.ensureConfig();
      const s = this.settings;
      const body = {};
      if (config.SecurityEnabled) {
        if (s.authenticate) {
          const token = await askPage(s.authenticate, 'sign-in token');
          if (typeof token === 'string' && token) body.Token = token;
        } else {
          console.warn("Liaison widget: the widget has security on but the page registered no 'authenticate' callback.");
        }
      }
      if (typeof s.customerDisplayName === 'string') body.DisplayName = s.customerDisplayName;
      else if (typeof s.customerDisplayName === 'function') {
        const name = await askPage(s.customerDisplayName, 'customer name').catch(() => null);
        if (typeof name === 'string' && name.trim()) body.DisplayName = name.trim();
      }
      if (Object.keys(s.contactAttributes).length) body.ContactAttributes = s.contactAttributes;
      if (s.contentTypes && s.contentTypes.length) body.SupportedMessagingContentTypes = s.contentTypes;
      started = await startChat(this.base, this.widgetId, body);
    } catch (error) {
      this.fail(error instanceof WidgetApiError || error instanceof Error ? error.message : String(error));
      return;
    }
    const chat = this.newChat({
      details: started,
      endpoint: started.ParticipantEndpoint || this.base,
      region: started.Region || 'us-east-1',
    });
    this.chat = chat;
    this.phase = 'chat';
    this.persist();
    this.notify();
    await this.join(chat);
  }

  async join(chat) {
    try {
      await chat.connect();
    } catch (error) {
      console.warn('Liaison widget: could not connect to the chat', error);
      if (this.chat === chat) {
        chat.discard();
        this.chat = null;
        storage.remove(this.storageKey);
        this.fail('Could not connect to the chat. Please try again.');
      }
      return false;
    }
    // What the flow said before the socket was up.
    await chat.loadTranscript().catch((error) => console.warn('Liaison widget: GetTranscript failed', error));
    if (this.open) chat.markRead();
    this.notify();
    return true;
  }

  /** A chat kept in localStorage by an earlier page: join it again and show its history. */
  async restore() {
    const saved = storage.get(this.storageKey);
    if (!saved || !isObject(saved.chatDetails) || !saved.chatDetails.ParticipantToken) {
      if (saved) storage.remove(this.storageKey);
      return;
    }
    this.phase = 'restoring';
    const chat = this.newChat({
      details: saved.chatDetails,
      endpoint: saved.endpoint || this.base,
      region: saved.region || 'us-east-1',
    });
    this.chat = chat;
    this.notify();
    try {
      await chat.connect();
      await chat.loadTranscript();
    } catch (error) {
      // Most often the chat ended meanwhile (403): start fresh.
      console.info('Liaison widget: the earlier chat could not be resumed', error && (error.message || error));
      chat.discard();
      if (this.chat === chat) this.chat = null;
      storage.remove(this.storageKey);
      this.phase = 'idle';
      if (this.open) this.start();
      else this.notify();
      return;
    }
    if (this.chat !== chat) return;
    this.phase = 'chat';
    if (chat.ended) storage.remove(this.storageKey);
    if (saved.paneOpen && !chat.ended) this.open = true;
    if (this.open) chat.markRead();
    this.persist();
    this.notify();
  }

  /** The retry button of an error. */
  retry() {
    this.phase = 'idle';
    this.start();
  }

  async endChat() {
    if (this.chat) await this.chat.end();
  }

  /** After the end: a new chat in the same pane. */
  startNew() {
    if (this.chat) this.chat.discard();
    this.chat = null;
    this.phase = 'idle';
    this.start();
  }

  /** Shares a file in the open chat; a refusal shows as the pane's error line. */
  async sendFile(file) {
    if (!file || !this.chat || this.chat.status === 'ended' || this.phase !== 'chat') return;
    this.fileError = await this.chat.sendFile(file);
    this.notify();
  }

  send(text) {
    const t = text.trim();
    if (!t || !this.chat || this.chat.status === 'ended' || this.phase !== 'chat') return false;
    this.chat.send(t);
    return true;
  }
}
