import { useState } from 'preact/hooks';
import { ProblemView } from '../components/problem-view';
import { signIn } from '../session';

export function SignInPage() {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!key.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(key);
      setKey('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <section class="card">
        <h1>
          <img src="/favicon.svg" alt="" width="32" height="32" /> spleeter-server
        </h1>
        <p>
          Split songs into stems — vocals, drums, bass, the rest — listen to them together, mute and solo
          them, and take away a karaoke track.
        </p>
        <form onSubmit={submit} autoComplete="off">
          <label for="api-key">API key or JWT</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autoComplete="off"
            spellcheck={false}
            placeholder="spl_…"
            required
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            aria-describedby="api-key-help"
          />
          <p id="api-key-help" class="muted small">
            Your key from the server admin, or a JWT from your identity provider (sent as a Bearer token). It
            stays in this browser tab only and is sent in a request header, never in a link.
          </p>
          <button type="submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <ProblemView error={error} />
      </section>
    </main>
  );
}
