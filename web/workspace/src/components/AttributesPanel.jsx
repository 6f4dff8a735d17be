import { formatDateTime } from '../format.js';

export function AttributesPanel({ chat }) {
  const d = chat.details;
  const attributes = Object.entries(d?.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  const titleId = `attributes-title-${chat.contactId}`;
  return (
    <section class="panel" data-testid="attributes-panel" aria-labelledby={titleId}>
      <h2 id={titleId} class="panel-title">Contact</h2>
      {!d && <p class="muted">{chat.detailsError || 'Loading…'}</p>}
      {d && (
        <>
          <dl class="facts">
            <div><dt>Customer</dt><dd data-testid="contact-customer">{d.customerName || '—'}</dd></div>
            <div><dt>Queue</dt><dd data-testid="contact-queue">{d.queueName || '—'}</dd></div>
            <div><dt>Started</dt><dd data-testid="contact-started">{formatDateTime(d.startedAt)}</dd></div>
            {d.initiationMethod && <div><dt>Initiated by</dt><dd>{d.initiationMethod}</dd></div>}
            {d.name && <div><dt>Name</dt><dd>{d.name}</dd></div>}
            {d.description && <div><dt>Description</dt><dd>{d.description}</dd></div>}
          </dl>
          <h3 class="panel-subtitle">Attributes</h3>
          {attributes.length === 0 ? (
            <p class="muted">No attributes.</p>
          ) : (
            <dl class="attributes">
              {attributes.map(([key, value]) => (
                <div class="attribute-row" data-testid="attribute-row" data-key={key} key={key}>
                  <dt>{key}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
          )}
        </>
      )}
    </section>
  );
}
