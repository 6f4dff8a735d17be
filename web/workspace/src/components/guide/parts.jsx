// Pieces the guide's views share: tolerant readers of ViewData values, the attribute bar,
// sections (text, TemplateString, key/value attributes) and action buttons.

import { h } from 'preact';
import { useState } from 'preact/hooks';

/** A ViewData value; a string that holds JSON (a whole object fed through an attribute) is parsed. */
export function parsed(value) {
  if (typeof value === 'string') {
    const text = value.trim();
    if ((text.startsWith('{') && text.endsWith('}')) || (text.startsWith('[') && text.endsWith(']'))) {
      try {
        return JSON.parse(text);
      } catch {
        return value;
      }
    }
  }
  return value;
}

/** A value as a list: arrays stay, null/undefined are empty, anything else is one item. */
export function listOf(value) {
  const v = parsed(value);
  if (Array.isArray(v)) return v;
  return v === undefined || v === null || v === '' ? [] : [v];
}

/** Text for showing any value: strings as they are, objects by their label or as JSON. */
export function textOf(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(textOf).join(', ');
  if (typeof value === 'object') {
    const label = value.Label ?? value.label ?? value.Value ?? value.value ?? value.Heading;
    if (label !== undefined && typeof label !== 'object') return String(label);
  }
  return JSON.stringify(value);
}

/**
 * The label of an action input (`Back`, `Next`, `Cancel`…), which is a string or `{Label}`;
 * `fallback` when the input is there without a label, null when it is absent.
 */
export function actionLabel(value, fallback) {
  const v = parsed(value);
  if (v === undefined || v === null || v === false || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v)) return v.Label || v.label || v.Text || fallback;
  return fallback;
}

function safeUrl(url) {
  try {
    const parsedUrl = new URL(String(url), location.href);
    return parsedUrl.protocol === 'http:' || parsedUrl.protocol === 'https:' ? parsedUrl.href : null;
  } catch {
    return null;
  }
}

/** `{Label, Value, LinkType, Url, ResourceId, Copyable}` attributes as a definition list. */
export function AttributeList({ items, class: className = 'guide-attrs' }) {
  const rows = listOf(items).filter((item) => item !== null && item !== undefined);
  if (rows.length === 0) return null;
  return (
    <dl class={className}>
      {rows.map((item, index) => {
        const attr = typeof item === 'object' && !Array.isArray(item) ? item : { Value: item };
        const label = attr.Label ?? attr.label ?? attr.Key ?? attr.Name ?? '';
        const value = attr.Value ?? attr.value ?? attr.ResourceId ?? '';
        const url = attr.LinkType === 'external' || attr.Url ? safeUrl(attr.Url) : null;
        return (
          <div key={index}>
            <dt>{textOf(label)}</dt>
            <dd>
              {url ? (
                <a href={url} target="_blank" rel="noopener noreferrer">{textOf(value) || url}</a>
              ) : (
                textOf(value)
              )}
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

export function AttributeBar({ items }) {
  return <AttributeList items={items} class="guide-attrs guide-attrs--bar" />;
}

// ---- TemplateString -------------------------------------------------------------------------

/** Tags a TemplateString may use as they are; others (TextContent, Box…) keep only their content. */
const KEPT_TAGS = new Set([
  'p', 'div', 'span', 'ol', 'ul', 'li', 'b', 'strong', 'i', 'em', 'u', 'br', 'code', 'pre',
  'small', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'blockquote', 'hr',
]);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

function nodesOf(domNodes) {
  const out = [];
  domNodes.forEach((node) => {
    if (node.nodeType === 3) {
      out.push(node.nodeValue);
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = node.tagName.toLowerCase();
    if (tag === 'script' || tag === 'style' || tag === 'iframe' || tag === 'object') return;
    const children = nodesOf(node.childNodes);
    if (KEPT_TAGS.has(tag)) out.push(h(tag, null, ...children));
    else if (HEADINGS.has(tag)) out.push(h('p', { class: 'guide-template-heading' }, ...children));
    else if (tag === 'a') {
      const href = safeUrl(node.getAttribute('href'));
      out.push(href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, ...children) : h('span', null, ...children));
    } else out.push(...children);
  });
  return out;
}

/** A TemplateString's markup, rendered with a small safe subset of HTML (no attributes but links). */
export function TemplateText({ source }) {
  const doc = new DOMParser().parseFromString(`<body>${String(source)}</body>`, 'text/html');
  return <div class="guide-template">{nodesOf(doc.body.childNodes)}</div>;
}

/** One section of a detail view: text, `{TemplateString}`, or key/value attributes. */
function Section({ section }) {
  const s = parsed(section);
  if (s === null || s === undefined || s === '') return null;
  if (typeof s !== 'object') return <p class="guide-text">{String(s)}</p>;
  if (Array.isArray(s)) {
    if (s.every((item) => item && typeof item === 'object' && ('Label' in item || 'Value' in item))) {
      return <AttributeList items={s} />;
    }
    return s.map((item, index) => <Section key={index} section={item} />);
  }
  if ('TemplateString' in s) return <TemplateText source={s.TemplateString} />;
  if ('Label' in s && 'Value' in s) return <AttributeList items={[s]} />;
  const items = s.Items ?? s.Attributes ?? s.Content;
  if (items !== undefined) {
    return (
      <div class="guide-section">
        {s.Heading && <h4 class="guide-section-title">{textOf(s.Heading)}</h4>}
        {s.Description && <p class="guide-text muted">{textOf(s.Description)}</p>}
        <Section section={items} />
      </div>
    );
  }
  // Any other object: its members as key/value pairs.
  return <AttributeList items={Object.entries(s).map(([Label, Value]) => ({ Label, Value }))} />;
}

export function Sections({ sections }) {
  const list = listOf(sections);
  if (list.length === 0) return null;
  return <div class="guide-sections">{list.map((section, index) => <Section key={index} section={section} />)}</div>;
}

// ---- actions --------------------------------------------------------------------------------

/**
 * A button that answers the view with `action` (one of its `actions`) and `data` (the
 * ViewResultData, or a function making it). `data-testid="guide-action-<action>"`.
 */
export function ActionButton({ ctx, action, data, label, variant = '', className = '', type = 'button', extra = {} }) {
  return (
    <button
      type={type}
      class={`button${variant ? ` button--${variant}` : ''}${className ? ` ${className}` : ''}`}
      data-testid={`guide-action-${action}`}
      disabled={ctx.disabled}
      onClick={type === 'submit' ? undefined : () => ctx.answer(action, typeof data === 'function' ? data() : data || {})}
      {...extra}
    >
      {label}
    </button>
  );
}

/** The Back link many views have (`Back: {Label}`): answers `Back`. */
export function BackButton({ ctx, value }) {
  const label = actionLabel(value, 'Back');
  if (!label) return null;
  return (
    <ActionButton
      ctx={ctx}
      action="Back"
      label={<><span aria-hidden="true">‹ </span>{label}</>}
      variant="ghost"
      className="guide-back"
    />
  );
}

/** Heading and description of an item, shown in a clickable list row or card. */
export function ItemText({ heading, description, status }) {
  return (
    <>
      <span class="guide-item-heading">{textOf(heading)}</span>
      {status && <span class="pill pill--acw guide-item-status">{textOf(status)}</span>}
      {description && <span class="guide-item-description">{textOf(description)}</span>}
    </>
  );
}

/** A `<details>` disclosure that remembers whether it is open across re-renders. */
export function Disclosure({ summary, children }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="guide-disclosure" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{summary}</summary>
      {open && children}
    </details>
  );
}
