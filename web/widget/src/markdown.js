// Message text as safe HTML. Everything is HTML-escaped first; the only tags in the output are
// the ones made here: <strong>, <em>, <code>, <a> (http and https only, opening in a new tab
// without an opener), <br>, <ul>/<ol>/<li>. No DOM: also runs under Node.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` with the five HTML-significant characters escaped. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Placeholders protect finished pieces (code spans, links) from later rules. U+E000 is a
// private-use character that incoming text cannot smuggle in: it is removed first.
const MARK = '\uE000';
const MARK_RE = /\uE000(\d+)\uE000/g;

// A URL inside escaped text: no spaces, quotes or angle brackets (which are entities by now);
// `&amp;` is the only entity allowed in it.
const URL_BODY = String.raw`(?:[^\s&<>"'\uE000]|&amp;)+`;
const BARE_URL_RE = new RegExp(String.raw`\bhttps?:\/\/${URL_BODY}`, 'gi');
const LINK_RE = new RegExp(String.raw`\[([^\]\n]+)\]\((${URL_BODY})\)`, 'g');
// Punctuation that usually ends a sentence rather than a URL.
const TRAILING_RE = /(?:[.,:;!?)\]]|&#39;|&quot;)+$/;

function isWebUrl(escapedUrl) {
  return /^https?:\/\/[^/?#\s]/i.test(escapedUrl);
}

function anchor(escapedUrl, innerHtml) {
  return `<a href="${escapedUrl}" target="_blank" rel="noopener noreferrer">${innerHtml}</a>`;
}

/** One line of text (no line breaks) as HTML; `markdown` turns on emphasis, code and [links](…). */
function inline(line, markdown) {
  const kept = [];
  const keep = (html) => `${MARK}${kept.push(html) - 1}${MARK}`;
  let s = escapeHtml(line);
  if (markdown) {
    s = s.replace(/`([^`]+)`/g, (_, code) => keep(`<code>${code}</code>`));
    s = s.replace(LINK_RE, (whole, text, url) => {
      if (!isWebUrl(url)) return whole;
      return keep(anchor(url, emphasis(text)));
    });
  }
  s = s.replace(BARE_URL_RE, (url) => {
    const trailing = (url.match(TRAILING_RE) || [''])[0];
    const bare = trailing ? url.slice(0, -trailing.length) : url;
    if (!isWebUrl(bare)) return url;
    return keep(anchor(bare, bare)) + trailing;
  });
  if (markdown) s = emphasis(s);
  // Pieces may nest (a link's text was formatted before it was kept): restore until none is left.
  for (let i = 0; i < 3 && s.includes(MARK); i += 1) {
    s = s.replace(MARK_RE, (_, n) => kept[Number(n)]);
  }
  return s;
}

function emphasis(s) {
  return s
    .replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([^_]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/(^|[^*\w])\*(?=\S)([^*]*?\S)\*(?!\*)/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_(?=\S)([^_]*?\S)_(?!\w)/g, '$1<em>$2</em>');
}

const BULLET_RE = /^\s*[-*+]\s+(.*)$/;
const NUMBERED_RE = /^\s*\d{1,9}[.)]\s+(.*)$/;

/**
 * `text` as HTML. `markdown` (for `text/markdown` messages) renders **bold**, *italic*,
 * `code`, [links](https://…) and - bullet / 1. numbered lists; plain text only gets its web
 * addresses linked. Line breaks are kept either way.
 */
export function renderText(text, { markdown = false } = {}) {
  const lines = String(text ?? '').replace(/\uE000/g, '').replace(/\s+$/, '').replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let list = null; // { tag, items }
  let pendingBreak = false;
  const flushList = () => {
    if (!list) return;
    out.push(`<${list.tag}>${list.items.map((i) => `<li>${i}</li>`).join('')}</${list.tag}>`);
    list = null;
    pendingBreak = false;
  };
  for (const line of lines) {
    const bullet = markdown && line.match(BULLET_RE);
    const numbered = markdown && !bullet && line.match(NUMBERED_RE);
    if (bullet || numbered) {
      const tag = bullet ? 'ul' : 'ol';
      if (list && list.tag !== tag) flushList();
      if (!list) {
        list = { tag, items: [] };
      }
      list.items.push(inline((bullet || numbered)[1], markdown));
      continue;
    }
    if (list) {
      flushList();
      if (!line.trim()) continue; // the blank line after a list is the list's end
    } else if (pendingBreak) {
      out.push('<br>');
    }
    out.push(inline(line, markdown));
    pendingBreak = true;
  }
  flushList();
  return out.join('');
}
