// The two widget endpoints of Liaison a page calls (docs/widgets.md): the widget's public
// settings and the start of a chat. Both are cross-origin; Liaison's CORS answers only the
// widget's allowed origins, so from any other page the browser hides the answer and fetch
// fails with a TypeError.

export class WidgetApiError extends Error {
  constructor(message, { type = 'Error', status = 0, cause } = {}) {
    super(message);
    this.name = 'WidgetApiError';
    this.type = type;
    this.status = status;
    if (cause) this.cause = cause;
  }
}

const UNREACHABLE =
  'Chat is not available on this page right now. Please try again later.';

async function call(url, init, what) {
  let response;
  try {
    response = await fetch(url, { credentials: 'omit', mode: 'cors', ...init });
  } catch (cause) {
    // Blocked by CORS (this page's origin is not allowed) or no network: the browser does not
    // say which.
    console.warn(
      `Liaison widget: ${what} failed (${cause && cause.message}). If the network is fine, ` +
        `check that ${window.location.origin} is among the widget's AllowedOrigins.`,
    );
    throw new WidgetApiError(UNREACHABLE, { type: 'NetworkError', cause });
  }
  let body = null;
  const text = await response.text().catch(() => '');
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = null;
  }
  if (!response.ok) {
    const type = (body && body.__type) || response.headers.get('x-amzn-errortype') || `HTTP ${response.status}`;
    const message =
      (body && (body.message || body.Message)) ||
      (response.status === 429 ? 'Too many chats were started. Please try again in a minute.' : UNREACHABLE);
    throw new WidgetApiError(message, { type: String(type).split(':')[0], status: response.status });
  }
  return body || {};
}

/** `GET {base}/widget/{id}/config`: `{WidgetId, DisplayNames, Styles, SecurityEnabled}`. */
export function fetchConfig(base, widgetId) {
  return call(`${base}/widget/${encodeURIComponent(widgetId)}/config`, { method: 'GET' }, 'loading the widget settings');
}

/**
 * `POST {base}/widget/{id}/start-chat` with `{Token?, DisplayName?, ContactAttributes?,
 * SupportedMessagingContentTypes?}`: `{ContactId, ParticipantId, ParticipantToken,
 * ParticipantEndpoint, Region}`.
 */
export function startChat(base, widgetId, body) {
  return call(
    `${base}/widget/${encodeURIComponent(widgetId)}/start-chat`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    'starting a chat',
  );
}
