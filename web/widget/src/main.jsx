// The loader a page's snippet adds (`{Liaison}/widget/loader.js`, with the widget id as the
// <script>'s id). It finds its own <script>, takes over `window.amazon_connect` (running the
// calls queued before it loaded) and puts the widget in a shadow root at the end of <body>.
import { render } from 'preact';
import { App } from './ui.jsx';
import { Widget } from './widget.js';
import css from './styles.css?inline';

const LOADER_PATH = '/widget/loader.js';
const GLOBAL = 'amazon_connect';

function ownScript() {
  const current = document.currentScript;
  if (current && current.src) return current;
  const scripts = document.getElementsByTagName('script');
  for (let i = scripts.length - 1; i >= 0; i -= 1) {
    const src = scripts[i].src;
    if (!src) continue;
    try {
      if (new URL(src, document.baseURI).pathname.endsWith(LOADER_PATH)) return scripts[i];
    } catch (_) {
      /* not a URL */
    }
  }
  return null;
}

/** Liaison's base URL: the script's URL without `/widget/loader.js` (and any query). */
function baseOf(script) {
  const url = new URL(script.src, document.baseURI);
  const path = url.pathname.slice(0, url.pathname.length - LOADER_PATH.length);
  return `${url.origin}${path.replace(/\/+$/, '')}`;
}

function mount(widget) {
  const host = document.createElement('div');
  host.setAttribute('data-liaison-widget', widget.widgetId);
  const shadow = host.attachShadow({ mode: 'open' });
  // A constructed style sheet needs no 'unsafe-inline' in the page's Content-Security-Policy.
  let adopted = false;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
    adopted = true;
  } catch (_) {
    /* older browsers: a <style> element */
  }
  if (!adopted) {
    const style = document.createElement('style');
    style.textContent = css;
    shadow.appendChild(style);
  }
  const root = document.createElement('div');
  shadow.appendChild(root);
  document.body.appendChild(host);
  render(<App widget={widget} />, root);
}

function main() {
  const script = ownScript();
  if (!script || !script.id) {
    console.error(`Liaison widget: the <script> loading ${LOADER_PATH} needs the widget id as its id.`);
    return;
  }
  const widgetId = script.id;
  const loaded = (window.__liaisonWidgets ||= {});
  if (loaded[widgetId]) return; // the snippet ran twice
  const widget = new Widget({ widgetId, base: baseOf(script) });
  loaded[widgetId] = widget;

  const queued = (window[GLOBAL] && window[GLOBAL].ac) || [];
  for (const args of Array.from(queued)) {
    const [name, ...rest] = Array.from(args);
    widget.command(name, rest);
  }
  window[GLOBAL] = function amazonConnect(name, ...rest) {
    widget.command(name, rest);
  };

  const start = () => {
    mount(widget);
    widget.boot();
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
}

main();
