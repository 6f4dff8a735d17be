// The AWS-managed after-contact-work view ("smart default guide"): disposition codes, the
// contact summary and notes. Submit answers `Submit` with Category, Driver, Satisfaction,
// FollowUp and Resolved as one-element arrays, ModifiedSummary and ContactNotes.

import { ActionButton, textOf } from './parts.jsx';

export const DISPOSITIONS = [
  { name: 'Category', label: 'Category', testid: 'acw-category', options: ['Support', 'Billing', 'Sales', 'Technical', 'Account', 'Other'] },
  { name: 'Driver', label: 'Driver', testid: 'acw-driver', options: ['Billing inquiries', 'Refund request', 'Order status', 'Technical issue', 'Account access', 'Other'] },
  { name: 'Satisfaction', label: 'Satisfaction', testid: 'acw-satisfaction', options: ['Very Satisfied', 'Satisfied', 'Neutral', 'Dissatisfied', 'Very Dissatisfied'] },
  { name: 'FollowUp', label: 'Follow-up', testid: 'acw-followup', options: ['Yes', 'No'] },
  { name: 'Resolved', label: 'Resolved', testid: 'acw-resolved', options: ['Yes', 'No'] },
];

function defaultOf(data, name) {
  const value = data[`${name}_DefaultValue`];
  return Array.isArray(value) ? textOf(value[0]) : textOf(value);
}

/** The values the form starts with: ViewData's `<Name>_DefaultValue`s. */
export function afterContactWorkDefaults(data) {
  const values = {};
  for (const field of DISPOSITIONS) values[field.name] = defaultOf(data, field.name) || field.options[0];
  values.ModifiedSummary = defaultOf(data, 'ContactSummary');
  values.ContactNotes = defaultOf(data, 'AdditionalNotes');
  return values;
}

function Heading({ id, title, description, descriptionId }) {
  return (
    <>
      <h3 id={id} class="guide-section-title">{title}</h3>
      {description && <p id={descriptionId} class="guide-text muted">{description}</p>}
    </>
  );
}

export function AfterContactWorkView({ ctx, data }) {
  const { draft: values, setField } = ctx;
  const id = (suffix) => `acw-${ctx.idBase}-${suffix}`;
  const header = (name, fallback) => textOf(data[`${name}_Header_Title`]) || fallback;
  const about = (name) => textOf(data[`${name}_Header_Description`]);
  const customer = [textOf(data.CustomerName), textOf(data.PhoneNumber)].filter(Boolean);

  function submit(event) {
    event.preventDefault();
    const one = (name) => [values[name]];
    ctx.answer('Submit', {
      Category: one('Category'),
      Driver: one('Driver'),
      Satisfaction: one('Satisfaction'),
      FollowUp: one('FollowUp'),
      Resolved: one('Resolved'),
      ModifiedSummary: values.ModifiedSummary,
      ContactNotes: values.ContactNotes,
    });
  }

  return (
    <form class="guide-form acw-form" onSubmit={submit} aria-describedby={about('ContactWrapUp') ? id('about') : undefined}>
      {about('ContactWrapUp') && <p id={id('about')} class="guide-text muted">{about('ContactWrapUp')}</p>}
      {customer.length > 0 && (
        <p class="acw-customer" data-testid="acw-customer">
          <span class="avatar" aria-hidden="true">{customer[0].slice(0, 1).toUpperCase()}</span>
          <span>
            <span class="sr-only">Customer: </span>
            <strong>{customer[0]}</strong>
            {customer[1] && <span class="muted"> · {customer[1]}</span>}
          </span>
        </p>
      )}

      <fieldset class="guide-fieldset" aria-describedby={about('Disposition') ? id('disposition-about') : undefined}>
        <legend class="guide-section-title">{header('Disposition', 'Disposition codes')}</legend>
        {about('Disposition') && <p id={id('disposition-about')} class="guide-text muted">{about('Disposition')}</p>}
        <div class="guide-grid">
          {DISPOSITIONS.map((field) => {
            const value = values[field.name] ?? '';
            const options = field.options.includes(value) || !value ? field.options : [value, ...field.options];
            return (
              <div class="guide-field" key={field.name}>
                <label for={id(field.name)}>{field.label}</label>
                <select
                  id={id(field.name)}
                  data-testid={field.testid}
                  value={value}
                  disabled={ctx.disabled}
                  onChange={(e) => setField(field.name, e.currentTarget.value)}
                >
                  {options.map((option) => <option key={option} value={option}>{option}</option>)}
                </select>
              </div>
            );
          })}
        </div>
      </fieldset>

      <div class="guide-block">
        <Heading
          id={id('summary-title')}
          title={header('ContactSummary', 'Contact summary')}
          description={about('ContactSummary')}
          descriptionId={id('summary-about')}
        />
        <textarea
          id={id('summary')}
          data-testid="acw-summary"
          rows={4}
          aria-labelledby={id('summary-title')}
          aria-describedby={about('ContactSummary') ? id('summary-about') : undefined}
          value={values.ModifiedSummary}
          disabled={ctx.disabled}
          onInput={(e) => setField('ModifiedSummary', e.currentTarget.value)}
        />
      </div>

      <div class="guide-block">
        <Heading
          id={id('notes-title')}
          title={header('AdditionalNotes', 'Additional notes')}
          description={about('AdditionalNotes')}
          descriptionId={id('notes-about')}
        />
        <textarea
          id={id('notes')}
          data-testid="acw-notes"
          rows={3}
          aria-labelledby={id('notes-title')}
          aria-describedby={about('AdditionalNotes') ? id('notes-about') : undefined}
          value={values.ContactNotes}
          disabled={ctx.disabled}
          onInput={(e) => setField('ContactNotes', e.currentTarget.value)}
        />
      </div>

      <div class="guide-actions">
        <ActionButton ctx={ctx} action="Cancel" label="Cancel" data={{}} />
        <ActionButton ctx={ctx} action="Submit" label={ctx.sending === 'Submit' ? 'Submitting…' : 'Submit'} variant="primary" type="submit" />
      </div>
    </form>
  );
}
