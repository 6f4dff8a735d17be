import { workspace } from '../workspace.js';

export function Toasts() {
  return (
    <div class="toasts">
      {workspace.toasts.map((toast) => (
        <div key={toast.id} class={`toast toast--${toast.tone}`} role={toast.tone === 'error' ? 'alert' : 'status'}>
          <span>{toast.text}</span>
          <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => workspace.dismissToast(toast.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
