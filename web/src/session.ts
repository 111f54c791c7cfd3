/**
 * Who is signed in. The credential lives in sessionStorage (this tab only, gone when it closes) and
 * in memory; it is never put in a URL, a cookie or the console.
 */
import { Api, credentialFrom, type Credential } from './api/client';
import type { Me } from './api/types';
import { createStore } from './store';
import { reset as resetUploads } from './uploads';

const STORAGE_KEY = 'spleeter.credential';

export interface Session {
  api: Api;
  me: Me;
}

export const session = createStore<Session | null>(null);

function stored(): Credential | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Credential) : null;
  } catch {
    return null;
  }
}

/** Checks the credential with GET /v1/auth/me; throws the API's problem when it is refused. */
export async function signIn(input: string, remember = true): Promise<Session> {
  const credential = credentialFrom(input);
  const api = new Api(credential);
  const me = await api.get<Me>('/v1/auth/me');
  if (remember) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
  const s = { api, me };
  session.set(s);
  return s;
}

/** Restores the tab's session after a reload; forgets a credential the server no longer accepts. */
export async function resume(): Promise<void> {
  const credential = stored();
  if (!credential) return;
  try {
    const api = new Api(credential);
    session.set({ api, me: await api.get<Me>('/v1/auth/me') });
  } catch {
    signOut();
  }
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  resetUploads();
  session.set(null);
}
