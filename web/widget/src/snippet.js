// The snippet's commands: `amazon_connect('styles', {...})` and the rest, as Amazon Connect's
// hosted widget takes them. Calls made before the loader ran wait in `amazon_connect.ac`;
// later ones reach the live function. Each command updates `settings`; the widget reads
// them when it renders and when it starts a chat.

export function newSettings() {
  return {
    styles: {},
    contentTypes: null,
    authenticate: null,
    contactAttributes: {},
    customerDisplayName: null,
    customDisplayNames: {},
    launch: {},
    callbacks: {},
    enableLogs: false,
  };
}

// Connect snippet fields Liaison's widget accepts but has no use for.
const ACCEPTED = new Set([
  'snippetId', 'chatDurationInMinutes', 'language', 'disableCSM', 'nonce', 'customizationObject',
  'mockLexBotTyping', 'customStartChat',
]);

const CALLBACK_EVENTS = new Set([
  'CONNECTION_ESTABLISHED', 'INCOMING_MESSAGE', 'INCOMING_TYPING', 'INCOMING_READ_RECEIPT', 'CHAT_ENDED',
]);

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function mergeStyles(into, from) {
  const out = { ...into };
  for (const [key, value] of Object.entries(from)) {
    out[key] = isObject(value) && isObject(out[key]) ? { ...out[key], ...value } : value;
  }
  return out;
}

// Connect's `customStyles` in the terms of `styles` (only what has a counterpart here).
function fromCustomStyles(custom) {
  const out = {};
  const g = isObject(custom.global) ? custom.global : {};
  const h = isObject(custom.header) ? custom.header : {};
  if (g.frameWidth) out.width = g.frameWidth;
  if (g.frameHeight) out.height = g.frameHeight;
  if (g.typeface) out.fontFamily = g.typeface;
  if (h.headerBackgroundColor) out.primaryColor = h.headerBackgroundColor;
  if (h.headerTextColor) out.primaryTextColor = h.headerTextColor;
  return out;
}

/** Applies one command; returns whether anything the widget shows may have changed. */
export function applyCommand(settings, name, args) {
  const [value] = args;
  switch (name) {
    case 'styles':
      if (isObject(value)) settings.styles = mergeStyles(settings.styles, value);
      return true;
    case 'customStyles':
      if (isObject(value)) settings.styles = mergeStyles(settings.styles, fromCustomStyles(value));
      return true;
    case 'supportedMessagingContentTypes':
      if (Array.isArray(value)) settings.contentTypes = value.filter((t) => typeof t === 'string');
      return false;
    case 'authenticate':
      if (typeof value === 'function') settings.authenticate = value;
      return false;
    case 'contactAttributes':
      if (isObject(value)) {
        const attributes = {};
        for (const [key, v] of Object.entries(value)) {
          if (v === null || v === undefined || typeof v === 'object' || typeof v === 'function') {
            console.warn(`Liaison widget: contact attribute '${key}' is not a string; left out.`);
          } else {
            attributes[key] = String(v);
          }
        }
        settings.contactAttributes = attributes;
      }
      return false;
    case 'customerDisplayName':
      if (typeof value === 'function' || typeof value === 'string') settings.customerDisplayName = value;
      return false;
    case 'customDisplayNames':
      if (isObject(value)) settings.customDisplayNames = value;
      return true;
    case 'customLaunchBehavior':
      if (isObject(value)) settings.launch = value;
      return true;
    case 'registerCallback':
      if (isObject(value)) {
        for (const [event, fn] of Object.entries(value)) {
          if (!CALLBACK_EVENTS.has(event) || typeof fn !== 'function') {
            console.warn(`Liaison widget: registerCallback: '${event}' is not an event this widget reports.`);
            continue;
          }
          (settings.callbacks[event] ||= []).push(fn);
        }
      }
      return false;
    case 'enableLogs':
      settings.enableLogs = !!value;
      return false;
    default:
      if (!ACCEPTED.has(name)) {
        console.warn(`Liaison widget: unknown command '${name}' ignored.`);
      }
      return false;
  }
}

/** Calls the page's function `fn(callback)` and resolves with what it passes to the callback. */
export function askPage(fn, what, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`The page did not provide the ${what} in time.`)),
      timeoutMs,
    );
    try {
      fn((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    } catch (error) {
      clearTimeout(timer);
      console.warn(`Liaison widget: the page's ${what} callback threw`, error);
      reject(new Error(`The page could not provide the ${what}.`));
    }
  });
}
