/**
 * The step-by-step guide of a contact (a flow's Show view block, `contacts[].guide`): the view
 * it shows, rendered from `guide.view` and `guide.viewData`, with a countdown to the block's
 * time limit. The agent's answer goes to `POST /contacts/{id}/guide`. With no guide it renders
 * nothing and takes no space.
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import { guideKey, workspace } from '../workspace.js';
import { AfterContactWorkView, afterContactWorkDefaults } from './guide/AfterContactWorkView.jsx';
import {
  CardsView,
  ConfirmationView,
  DetailView,
  FormView,
  GenericView,
  ListView,
  formDefaults,
} from './guide/ManagedViews.jsx';
import { parsed, textOf } from './guide/parts.jsx';

/** The AWS-managed views by name: renderer, starting values, title. */
const MANAGED = {
  'after-contact-work': {
    render: AfterContactWorkView,
    defaults: afterContactWorkDefaults,
    title: (d) => textOf(d.ContactWrapUp_Header_Title) || 'Contact wrap-up',
  },
  detail: { render: DetailView, title: (d) => textOf(d.Heading) || 'Details' },
  list: { render: ListView, title: (d) => textOf(d.Heading) || 'Choose an item' },
  form: { render: FormView, defaults: formDefaults, title: (d) => textOf(d.Heading) || 'Form' },
  confirmation: { render: ConfirmationView, title: (d) => textOf(d.Heading) || 'Done' },
  cards: { render: CardsView, title: (d) => textOf(d.Heading) || 'Choose a card' },
};

function managedOf(view) {
  if (!view || view.managed === false || !view.name) return null;
  return MANAGED[String(view.name).replace(/:\d+$/, '')] || null;
}

function titleOf(view, data) {
  const managed = managedOf(view);
  if (managed) return managed.title(data);
  const template = parsed(view?.template);
  return textOf(template?.Head?.Title) || view?.name || 'Guide';
}

/** Server time, re-read every `everyMs` while `everyMs` is set. */
function useServerNow(everyMs) {
  const [now, setNow] = useState(() => workspace.serverNow());
  useEffect(() => {
    if (!everyMs) return undefined;
    setNow(workspace.serverNow());
    const timer = setInterval(() => setNow(workspace.serverNow()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** What the agent entered in the current view, kept on the chat so a tab switch loses nothing. */
function useDraft(chat, key, initial) {
  const [, rerender] = useState(0);
  if (key && chat.guideDraft?.key !== key) chat.guideDraft = { key, values: initial() };
  const setField = (name, value) => {
    if (chat.guideDraft?.key !== key) return;
    chat.guideDraft = { key, values: { ...chat.guideDraft.values, [name]: value } };
    rerender((n) => n + 1);
  };
  return [chat.guideDraft?.values || {}, setField];
}

function GuideTimer({ remaining }) {
  const expired = remaining <= 0;
  const low = !expired && remaining < 60_000;
  // Rounded, so a fresh view shows its whole time limit (8:00, not 8:01 from clock skew).
  const seconds = Math.max(0, Math.round(remaining / 1000));
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  return (
    <span
      class={`guide-timer${low ? ' guide-timer--low' : ''}${expired ? ' guide-timer--expired' : ''}`}
      role="timer"
      aria-label={expired ? 'Time to answer the guide is up' : `Time left to answer the guide: ${text}`}
      data-testid="guide-countdown"
    >
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <circle cx="8" cy="9" r="6" fill="none" stroke="currentColor" stroke-width="1.6" />
        <path d="M8 5.5V9l2.2 1.6M6 1.5h4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
      </svg>
      {expired ? 'Time is up' : `${text} left`}
    </span>
  );
}

export function GuidePane({ chat }) {
  const guide = chat.guide;
  const view = guide?.view || null;
  const key = guideKey(guide);
  const data = (() => {
    const d = parsed(guide?.viewData);
    return d && typeof d === 'object' && !Array.isArray(d) ? d : {};
  })();
  const managed = managedOf(view);
  const title = view ? titleOf(view, data) : '';
  const now = useServerNow(view ? 500 : 0);
  const [draft, setField] = useDraft(chat, key, () => (managed?.defaults ? managed.defaults(data) : {}));
  const [announcement, setAnnouncement] = useState('');
  const pane = useRef(null);
  const heading = useRef(null);

  // A new view: announce it, and bring focus to it when focus is not elsewhere on purpose
  // (it was in the guide, or it fell back to the page when the previous control went away).
  useEffect(() => {
    if (!key) return;
    setAnnouncement(`Guide: ${title}`);
    const active = document.activeElement;
    const adrift = !active || active === document.body;
    const inPane = pane.current && active && pane.current.contains(active);
    if ((adrift || inPane) && heading.current?.offsetParent !== null) heading.current?.focus();
  }, [key]);

  if (!guide) return null;

  const titleId = `guide-title-${chat.contactId}`;
  if (!view) {
    return (
      <section class="panel guide-pane guide-pane--loading" data-testid="guide-pane" aria-label="Guide" aria-busy="true" ref={pane}>
        <div class="guide-head">
          <span class="guide-kicker">Guide</span>
        </div>
        <p class="guide-loading" data-testid="guide-loading">
          <span class="spinner" aria-hidden="true" />
          Loading guide…
        </p>
        <div key="live" class="sr-only" aria-live="polite">{announcement}</div>
      </section>
    );
  }

  const remaining = (guide.deadline ?? Infinity) - now;
  const expired = remaining <= 0;
  const sending = workspace.busy.has(`guide:${chat.contactId}`);
  const answered = chat.guideAnswered === key;
  const ctx = {
    answer: (action, viewResultData) => workspace.answerGuide(chat.contactId, action, viewResultData),
    disabled: sending || answered || expired,
    sending: sending ? chat.guideSending : null,
    draft,
    setField,
    idBase: chat.contactId,
  };
  const Renderer = managed?.render || GenericView;
  return (
    <section
      class="panel guide-pane"
      data-testid="guide-pane"
      data-view={view.name || ''}
      aria-labelledby={titleId}
      aria-busy={sending ? 'true' : 'false'}
      ref={pane}
    >
      <div class="guide-head">
        <span class="guide-kicker">Guide</span>
        {Number.isFinite(remaining) && <GuideTimer remaining={remaining} />}
      </div>
      <h2 id={titleId} class="guide-title" tabIndex={-1} ref={heading}>{title}</h2>
      {(answered || expired) && (
        <p class="guide-status" role="status" data-testid="guide-status">
          {!answered
            ? 'Time is up: the guide goes on without an answer.'
            : chat.guideRefused === key
              ? 'This step no longer waits for an answer.'
              : 'Answer sent. Waiting for the next step…'}
        </p>
      )}
      <Renderer key={key} ctx={ctx} view={view} data={data} />
      <div key="live" class="sr-only" aria-live="polite">{announcement}</div>
    </section>
  );
}
