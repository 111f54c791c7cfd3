/** What the person signed in with, and how it travels (DOM-free, so unit specs can import it). */
export interface Credential {
  kind: 'api-key' | 'bearer';
  value: string;
}

/**
 * A JWT has three base64url parts, the first a JSON header (so it starts with "ey"); a pasted
 * "Bearer " prefix is dropped. Anything else is taken for an API key.
 */
export function credentialFrom(input: string): Credential {
  const trimmed = input.trim();
  const token = trimmed.replace(/^Bearer\s+/i, '');
  return /^ey[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)
    ? { kind: 'bearer', value: token }
    : { kind: 'api-key', value: trimmed };
}

/** The one header that carries the credential: never a URL, a cookie or a query parameter. */
export function authHeaders(credential: Credential): Record<string, string> {
  return credential.kind === 'bearer'
    ? { Authorization: `Bearer ${credential.value}` }
    : { 'X-API-KEY': credential.value };
}
