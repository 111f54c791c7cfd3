/**
 * Hash routes (#/history, #/jobs/<id>, #/admin/keys): the server serves one document at / and
 * needs no fallback route for client paths.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'separate' }
  | { name: 'history' }
  | { name: 'job'; id: string }
  | { name: 'admin-models' }
  | { name: 'admin-keys' }
  | { name: 'admin-audit' }
  | { name: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '/separate') return { name: 'separate' };
  if (path === '/history') return { name: 'history' };
  const job = /^\/jobs\/([0-9a-fA-F-]{1,64})$/.exec(path);
  if (job) return { name: 'job', id: job[1] };
  if (path === '/admin/models') return { name: 'admin-models' };
  if (path === '/admin/keys') return { name: 'admin-keys' };
  if (path === '/admin/audit') return { name: 'admin-audit' };
  return { name: 'not-found', path };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'separate':
      return '#/';
    case 'history':
      return '#/history';
    case 'job':
      return `#/jobs/${route.id}`;
    case 'admin-models':
      return '#/admin/models';
    case 'admin-keys':
      return '#/admin/keys';
    case 'admin-audit':
      return '#/admin/audit';
    case 'not-found':
      return `#${route.path}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(route: Route): void {
  location.hash = href(route);
}
