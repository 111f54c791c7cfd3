import { useEffect, useRef, useState } from 'preact/hooks';
import { AdminAuditPage } from './pages/admin-audit';
import { AdminKeysPage } from './pages/admin-keys';
import { AdminModelsPage } from './pages/admin-models';
import { HistoryPage } from './pages/history';
import { JobPage } from './pages/job';
import { SeparatePage } from './pages/separate';
import { SignInPage } from './pages/sign-in';
import { href, useRoute, type Route } from './router';
import { resume, session, signOut, type Session } from './session';
import { useStore } from './store';

const NAV: Array<{ route: Route; label: string; admin?: boolean }> = [
  { route: { name: 'separate' }, label: 'Separate' },
  { route: { name: 'history' }, label: 'History' },
  { route: { name: 'admin-models' }, label: 'Models', admin: true },
  { route: { name: 'admin-keys' }, label: 'API keys', admin: true },
  { route: { name: 'admin-audit' }, label: 'Audit log', admin: true },
];

const isCurrent = (a: Route, b: Route) => a.name === b.name || (a.name === 'job' && b.name === 'history');

export function App() {
  const current = useStore(session);
  const [resuming, setResuming] = useState(true);
  useEffect(() => {
    void resume().finally(() => setResuming(false));
  }, []);
  if (resuming) return <p class="loading">Loading…</p>;
  return current ? <Shell s={current} /> : <SignInPage />;
}

function Shell({ s }: { s: Session }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  // Moving focus to the new page's content tells screen readers the page changed.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.name, route.name === 'job' ? route.id : '']);

  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>spleeter-server</span>
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.admin || s.me.role === 'admin').map((n) => (
              <li key={n.label}>
                <a href={href(n.route)} aria-current={isCurrent(route, n.route) ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class="muted small" title={s.me.id}>
            <span class="who-id">{s.me.id}</span> · <span class="who-role">{s.me.role}</span>
          </span>
          <button type="button" class="secondary small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} s={s} />
      </main>
      <footer class="muted small">
        <a href="/docs">API docs</a> · keyboard: <kbd>?</kbd> in the player lists the shortcuts
      </footer>
    </>
  );
}

function Page({ route, s }: { route: Route; s: Session }) {
  switch (route.name) {
    case 'separate':
      return <SeparatePage s={s} />;
    case 'history':
      return <HistoryPage s={s} />;
    case 'job':
      return <JobPage s={s} id={route.id} key={route.id} />;
    case 'admin-models':
      return <AdminModelsPage s={s} />;
    case 'admin-keys':
      return <AdminKeysPage s={s} />;
    case 'admin-audit':
      return <AdminAuditPage s={s} />;
    case 'not-found':
      return (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="#/">Go to Separate</a>.
          </p>
        </section>
      );
  }
}
