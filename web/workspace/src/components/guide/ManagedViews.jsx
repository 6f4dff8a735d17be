// The AWS-managed views other than after-contact work (detail, list, form, confirmation,
// cards) and the fallback for customer-managed or unknown views. Inputs and results follow
// Amazon Connect's view resources (docs/workspace-api.md, flow-language §8.3).

import {
  ActionButton,
  AttributeBar,
  AttributeList,
  BackButton,
  Disclosure,
  ItemText,
  Sections,
  actionLabel,
  listOf,
  parsed,
  textOf,
} from './parts.jsx';

function Intro({ text }) {
  return text ? <p class="guide-text muted">{textOf(text)}</p> : null;
}

function Footer({ children }) {
  return <div class="guide-actions">{children}</div>;
}

// ---- detail ---------------------------------------------------------------------------------

export function DetailView({ ctx, data }) {
  const actions = listOf(data.Actions);
  return (
    <div class="guide-view">
      <BackButton ctx={ctx} value={data.Back} />
      <AttributeBar items={data.AttributeBar} />
      <Intro text={data.Description} />
      <Sections sections={data.Sections} />
      {actions.length > 0 && (
        <div class="guide-action-list" role="group" aria-label="Actions">
          {actions.map((action, index) => {
            const label = textOf(action);
            return (
              <ActionButton
                key={index}
                ctx={ctx}
                action="ActionSelected"
                label={label}
                variant={index === 0 ? 'primary' : ''}
                data={{ actionName: label }}
                extra={{ 'data-action-name': label }}
              />
            );
          })}
        </div>
      )}
    </div>
  );
}

// ---- list -----------------------------------------------------------------------------------

export function ListView({ ctx, data }) {
  const items = listOf(data.Items);
  const subId = `guide-list-${ctx.idBase}`;
  return (
    <div class="guide-view">
      <BackButton ctx={ctx} value={data.Back} />
      <AttributeBar items={data.AttributeBar} />
      {data.SubHeading && <h4 id={subId} class="guide-section-title">{textOf(data.SubHeading)}</h4>}
      <ul class="guide-list" aria-labelledby={data.SubHeading ? subId : undefined}>
        {items.map((raw, index) => {
          const item = parsed(raw) && typeof parsed(raw) === 'object' ? parsed(raw) : { Heading: raw };
          const text = <ItemText heading={item.Heading} description={item.Description} />;
          const id = item.Id ?? item.id;
          return (
            <li key={index}>
              {id !== undefined && id !== null && id !== '' ? (
                <ActionButton
                  ctx={ctx}
                  action="ActionSelected"
                  className="guide-item guide-item--link"
                  label={<>{text}<span class="guide-item-chevron" aria-hidden="true">›</span></>}
                  data={{ actionName: textOf(id) }}
                  extra={{ 'data-item-id': textOf(id) }}
                />
              ) : (
                <div class="guide-item">{text}</div>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

// ---- form -----------------------------------------------------------------------------------

const kindOf = (type) => String(type || '').toLowerCase().replace(/[^a-z]/g, '');

/** `[{label, value}]` from `Options` (strings, `{Label, Value}` or `{label, value}`). */
function optionsOf(field) {
  return listOf(field.Options ?? field.options ?? field.Items ?? field.Values).map((option) => {
    if (option && typeof option === 'object') {
      const value = option.Value ?? option.value ?? option.Id ?? option.Label ?? option.label;
      return { value: textOf(value), label: textOf(option.Label ?? option.label ?? value) };
    }
    return { value: textOf(option), label: textOf(option) };
  });
}

/** What kind of control a form item is, from its `Type` (and `InputType`, `Options`). */
function controlOf(field) {
  const kind = kindOf(field.Type);
  const hasOptions = optionsOf(field).length > 0;
  if (kind === 'datepicker' || kind === 'date') return 'date';
  if (kind === 'timeinput' || kind === 'time' || kind === 'timepicker') return 'time';
  if (kind.includes('textarea')) return 'textarea';
  if (kind.includes('multiselect')) return 'multiselect';
  if (kind.includes('select') || kind.includes('dropdown') || kind === 'autosuggest' && hasOptions) return 'select';
  if (kind.includes('radio') || kind === 'tiles') return 'radio';
  if (kind.includes('checkbox')) return hasOptions ? 'checkboxes' : 'checkbox';
  if (kind === 'toggle') return 'checkbox';
  return 'input';
}

const nameOf = (field) => textOf(field.Name ?? field.name ?? field._id ?? field.Label);

/** The form items that take input, flattened out of layout groups (`{LayoutConfiguration, Items}`). */
function fieldsOf(items, out = []) {
  for (const raw of listOf(items)) {
    const item = parsed(raw);
    if (!item || typeof item !== 'object') continue;
    if (!item.Type && Array.isArray(item.Items)) fieldsOf(item.Items, out);
    else if (item.Name || item.name) out.push(item);
  }
  return out;
}

function defaultFor(field) {
  const control = controlOf(field);
  const value = parsed(field.DefaultValue ?? field.defaultValue ?? field.Value);
  if (control === 'checkbox') return value === true || value === 'true' || value === 'Yes';
  if (control === 'multiselect' || control === 'checkboxes') return listOf(value).map(textOf);
  if (control === 'select') return Array.isArray(value) ? textOf(value[0]) : textOf(value);
  return textOf(value);
}

/** The values a form view starts with: every input's `DefaultValue`. */
export function formDefaults(data) {
  const values = {};
  for (const section of listOf(data.Sections)) {
    const s = parsed(section);
    if (!s || typeof s !== 'object' || kindOf(s.Type) === 'datasection') continue;
    for (const field of fieldsOf(s.Items)) values[nameOf(field)] = defaultFor(field);
  }
  return values;
}

/** `FormData` as Connect answers it: selects and multi-value inputs as arrays. */
function formData(data, values) {
  const out = {};
  for (const section of listOf(data.Sections)) {
    const s = parsed(section);
    if (!s || typeof s !== 'object' || kindOf(s.Type) === 'datasection') continue;
    for (const field of fieldsOf(s.Items)) {
      const name = nameOf(field);
      const value = values[name];
      out[name] = controlOf(field) === 'select' ? (value ? [value] : []) : value;
    }
  }
  return out;
}

function FormField({ ctx, field }) {
  const name = nameOf(field);
  const control = controlOf(field);
  const id = `guide-${ctx.idBase}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const label = textOf(field.Label ?? field.label) || name;
  const value = ctx.draft[name];
  const set = (v) => ctx.setField(name, v);
  const required = field.Required === true || field.Required === 'true';
  const hint = textOf(field.Description ?? field.HelperText);
  const hintId = hint ? `${id}-hint` : undefined;
  const common = { id, disabled: ctx.disabled, required, 'aria-describedby': hintId, 'data-name': name };
  const options = optionsOf(field);

  if (control === 'checkbox') {
    return (
      <div class="guide-field guide-field--check">
        <label>
          <input type="checkbox" {...common} checked={!!value} onChange={(e) => set(e.currentTarget.checked)} />
          {label}
        </label>
        {hint && <p id={hintId} class="hint">{hint}</p>}
      </div>
    );
  }
  if (control === 'checkboxes' || control === 'radio') {
    const multi = control === 'checkboxes';
    const chosen = multi ? listOf(value) : value;
    return (
      <fieldset class="guide-field guide-choices" aria-describedby={hintId}>
        <legend>{label}</legend>
        {options.map((option, index) => (
          <label key={option.value}>
            <input
              type={multi ? 'checkbox' : 'radio'}
              name={id}
              value={option.value}
              disabled={ctx.disabled}
              required={!multi && required && index === 0}
              checked={multi ? chosen.includes(option.value) : chosen === option.value}
              onChange={(e) => {
                if (!multi) set(option.value);
                else set(e.currentTarget.checked ? [...chosen, option.value] : chosen.filter((v) => v !== option.value));
              }}
            />
            {option.label}
          </label>
        ))}
        {hint && <p id={hintId} class="hint">{hint}</p>}
      </fieldset>
    );
  }
  let input;
  if (control === 'textarea') {
    input = <textarea {...common} rows={3} value={value ?? ''} onInput={(e) => set(e.currentTarget.value)} />;
  } else if (control === 'select' || control === 'multiselect') {
    const multi = control === 'multiselect';
    const current = multi ? listOf(value) : value ?? '';
    const all = !multi && current && !options.some((o) => o.value === current) ? [{ value: current, label: current }, ...options] : options;
    input = (
      <select
        {...common}
        multiple={multi}
        value={current}
        onChange={(e) => set(multi ? [...e.currentTarget.selectedOptions].map((o) => o.value) : e.currentTarget.value)}
      >
        {!multi && !current && <option value="">Choose…</option>}
        {all.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
      </select>
    );
  } else {
    const types = { date: 'date', time: 'time' };
    const inputType = types[control] || (['number', 'email', 'tel', 'url', 'password', 'search'].includes(field.InputType) ? field.InputType : 'text');
    input = (
      <input
        {...common}
        type={inputType}
        value={value ?? ''}
        placeholder={field.Placeholder ? textOf(field.Placeholder) : undefined}
        onInput={(e) => set(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class="guide-field">
      <label for={id}>{label}{required && <span class="guide-required" aria-hidden="true"> *</span>}</label>
      {input}
      {hint && <p id={hintId} class="hint">{hint}</p>}
    </div>
  );
}

/** The items of a form section: inputs, layout groups (a grid row), and read-only attributes. */
function FormItems({ ctx, items }) {
  return listOf(items).map((raw, index) => {
    const item = parsed(raw);
    if (!item || typeof item !== 'object') return <p key={index} class="guide-text">{textOf(item)}</p>;
    if (!item.Type && Array.isArray(item.Items)) {
      return <div key={index} class="guide-grid"><FormItems ctx={ctx} items={item.Items} /></div>;
    }
    if (item.Name || item.name) return <FormField key={index} ctx={ctx} field={item} />;
    if ('Value' in item || 'Label' in item) return <AttributeList key={index} items={[item]} />;
    return null;
  });
}

function wizardSteps(wizard) {
  const w = parsed(wizard);
  if (!w || typeof w !== 'object') return null;
  const steps = listOf(Array.isArray(w) ? w : w.Steps ?? w.Items ?? w.steps).map((step) =>
    step && typeof step === 'object' ? step : { Heading: step });
  if (steps.length === 0) return null;
  const selected = w.Selected ?? w.selected;
  const current = typeof selected === 'number' || /^\d+$/.test(String(selected ?? ''))
    ? Number(selected)
    : Math.max(0, steps.findIndex((s) => textOf(s.Heading) === textOf(selected)));
  return { heading: textOf(w.Heading), steps, current };
}

export function FormView({ ctx, data }) {
  const wizard = wizardSteps(data.Wizard);
  const stepName = wizard ? textOf(wizard.steps[wizard.current]?.Heading) : '';
  const result = (extra = {}) => {
    const out = { FormData: formData(data, ctx.draft), ...extra };
    if (stepName) out.StepName = stepName;
    return out;
  };
  const error = parsed(data.ErrorText);
  const nextLabel = actionLabel(data.Next, 'Next') || (wizard && wizard.current === wizard.steps.length - 1 ? 'Submit' : 'Next');
  const previous = actionLabel(data.Previous, 'Previous');
  const cancel = actionLabel(data.Cancel, 'Cancel');

  return (
    <form
      class="guide-form guide-view"
      onSubmit={(event) => {
        event.preventDefault();
        ctx.answer('Next', result());
      }}
    >
      <BackButton ctx={ctx} value={data.Back} />
      <AttributeBar items={data.AttributeBar} />
      <Intro text={data.SubHeading} />
      {wizard && (
        <ol class="guide-steps" aria-label={wizard.heading || 'Steps'}>
          {wizard.steps.map((step, index) => (
            <li key={index} class={index === wizard.current ? 'guide-step--current' : ''} aria-current={index === wizard.current ? 'step' : undefined}>
              {textOf(step.Heading)}
              {step.Optional && <span class="muted"> (optional)</span>}
            </li>
          ))}
        </ol>
      )}
      {error && (
        <div class="guide-error" role="alert">
          {typeof error === 'object' ? (
            <>
              {error.Header && <strong>{textOf(error.Header)}</strong>}
              {error.Content && <p>{textOf(error.Content)}</p>}
            </>
          ) : textOf(error)}
        </div>
      )}
      {listOf(data.Sections).map((raw, index) => {
        const section = parsed(raw);
        if (!section || typeof section !== 'object') return <p key={index} class="guide-text">{textOf(section)}</p>;
        const titleId = `guide-${ctx.idBase}-section-${index}`;
        const isData = kindOf(section.Type) === 'datasection';
        return (
          <section key={index} class="guide-block" aria-labelledby={section.Heading ? titleId : undefined}>
            {section.Heading && <h4 id={titleId} class="guide-section-title">{textOf(section.Heading)}</h4>}
            {isData ? <AttributeList items={section.Items} /> : <FormItems ctx={ctx} items={section.Items} />}
          </section>
        );
      })}
      <Footer>
        {cancel && <ActionButton ctx={ctx} action="Cancel" label={cancel} data={{}} variant="ghost" />}
        {previous && <ActionButton ctx={ctx} action="Previous" label={previous} data={() => result()} />}
        <ActionButton ctx={ctx} action="Next" label={nextLabel} variant="primary" type="submit" />
      </Footer>
    </form>
  );
}

// ---- confirmation ---------------------------------------------------------------------------

export function ConfirmationView({ ctx, data }) {
  const label = actionLabel(data.Next, 'Next') || 'Next';
  const graphic = parsed(data.Graphic);
  return (
    <div class="guide-view guide-confirmation">
      <AttributeBar items={data.AttributeBar} />
      {graphic && (graphic === true || graphic.Include === true || graphic.Include === 'true') && (
        <svg class="guide-check" viewBox="0 0 48 48" width="48" height="48" aria-hidden="true">
          <circle cx="24" cy="24" r="22" fill="#e7f5ee" />
          <path d="M14 25l7 7 13-15" fill="none" stroke="#18794e" stroke-width="4" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
      )}
      <Intro text={data.SubHeading} />
      <Footer>
        <ActionButton ctx={ctx} action="Next" label={label} variant="primary" data={{ Label: label }} />
      </Footer>
    </div>
  );
}

// ---- cards ----------------------------------------------------------------------------------

function CardDetail({ ctx, detail }) {
  const d = parsed(detail);
  if (!d || typeof d !== 'object') return null;
  const actions = listOf(d.Actions);
  return (
    <div class="guide-card-detail">
      {d.Description && <p class="guide-text">{textOf(d.Description)}</p>}
      <Sections sections={d.Sections} />
      {actions.length > 0 && (
        <div class="guide-action-list" role="group" aria-label="Actions">
          {actions.map((action, index) => (
            <ActionButton
              key={index}
              ctx={ctx}
              action="ActionSelected"
              label={textOf(action)}
              data={{ actionName: textOf(action) }}
              extra={{ 'data-action-name': textOf(action) }}
            />
          ))}
        </div>
      )}
    </div>
  );
}

export function CardsView({ ctx, data }) {
  const cards = listOf(data.Cards ?? data.Sections);
  const noMatch = actionLabel(data.NoMatchFound, 'No match found');
  return (
    <div class="guide-view">
      <BackButton ctx={ctx} value={data.Back} />
      <AttributeBar items={data.AttributeBar} />
      <ul class="guide-cards">
        {cards.map((raw, index) => {
          const card = parsed(raw) || {};
          const summary = parsed(card.Summary) || card;
          const id = textOf(summary.Id ?? summary.id ?? summary.Heading);
          const hasDetail = card.Detail && typeof parsed(card.Detail) === 'object';
          return (
            <li key={index} class="guide-card">
              <ActionButton
                ctx={ctx}
                action="ActionSelected"
                className="guide-item guide-item--link"
                label={<><ItemText heading={summary.Heading} description={summary.Description} status={summary.Status} /><span class="guide-item-chevron" aria-hidden="true">›</span></>}
                data={{ actionName: id }}
                extra={{ 'data-card-id': id }}
              />
              {hasDetail && (
                <Disclosure summary={`More about ${textOf(summary.Heading) || 'this card'}`}>
                  <CardDetail ctx={ctx} detail={card.Detail} />
                </Disclosure>
              )}
            </li>
          );
        })}
      </ul>
      {noMatch && (
        <Footer>
          <ActionButton ctx={ctx} action="NoMatchFound" label={noMatch} data={{}} />
        </Footer>
      )}
    </div>
  );
}

// ---- customer-managed and unknown views -----------------------------------------------------

export function GenericView({ ctx, view, data }) {
  const entries = Object.entries(data || {});
  const actions = view.actions || [];
  return (
    <div class="guide-view">
      <p class="guide-text muted">
        {view.name ? <>View <strong>{view.name}</strong></> : 'A view Liaison does not know'}
        {view.managed === false && view.name ? ' (customer-managed)' : ''}
      </p>
      {entries.length > 0 ? (
        <AttributeList
          items={entries.map(([Label, Value]) => ({
            Label,
            Value: typeof Value === 'object' && Value !== null ? JSON.stringify(Value, null, 1) : Value,
          }))}
          class="guide-attrs guide-attrs--data"
        />
      ) : (
        <p class="guide-text muted">No view data.</p>
      )}
      <Footer>
        {actions.length === 0 && <p class="guide-text muted">This view has no actions to answer with.</p>}
        {actions.map((action, index) => (
          <ActionButton
            key={action}
            ctx={ctx}
            action={action}
            label={action}
            variant={index === 0 ? 'primary' : ''}
            data={{}}
          />
        ))}
      </Footer>
    </div>
  );
}
