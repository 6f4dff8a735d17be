import { useState } from 'preact/hooks';
import { workspace } from '../workspace.js';

const MESSAGES = {
  InvalidCredentials: 'The username or password is not right.',
  NetworkError: 'Liaison could not be reached. Check your connection and try again.',
};

export function SignIn({ reason }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [instanceId, setInstanceId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await workspace.signIn(username.trim(), password, instanceId.trim() || undefined);
    } catch (failure) {
      setError(MESSAGES[failure.code] || failure.message || 'Signing in failed.');
      setBusy(false);
    }
  }

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="brand brand--large" aria-hidden="true">
          <span class="brand-mark">L</span>
          <span>Liaison</span>
        </div>
        <h1 id="signin-title">Sign in to the agent workspace</h1>
        {reason && !error && <p class="signin-note" role="status">{reason}</p>}
        {error && <p class="signin-error" role="alert">{error}</p>}
        <div class="field">
          <label for="signin-username">Username</label>
          <input
            id="signin-username"
            data-testid="signin-username"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input
            id="signin-password"
            data-testid="signin-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <details class="advanced">
          <summary>Advanced</summary>
          <div class="field">
            <label for="signin-instance">Instance ID</label>
            <input
              id="signin-instance"
              data-testid="signin-instance"
              name="instanceId"
              autocapitalize="none"
              spellcheck={false}
              aria-describedby="signin-instance-hint"
              value={instanceId}
              onInput={(e) => setInstanceId(e.currentTarget.value)}
            />
            <p id="signin-instance-hint" class="hint">Leave empty to use the first instance.</p>
          </div>
        </details>
        <button type="submit" class="button button--primary button--block" data-testid="signin-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
