/**
 * What never reaches a log line. Headers by exact path; secret-looking fields at any of the first
 * three levels of a logged object (pino's redaction wildcards match one level each).
 */
const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'apiKey',
  'api_key',
  'apikey',
  'authorization',
  'cookie',
  'clientSecret',
  'client_secret',
  'privateKey',
  'private_key',
  'jwt',
];

const HEADER_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
];

const keyPath = (k: string): string => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`);
const join = (prefix: string, k: string): string =>
  keyPath(k).startsWith('[') ? `${prefix}${keyPath(k)}` : `${prefix}.${k}`;

export const REDACT_PATHS: string[] = [
  ...HEADER_PATHS,
  ...SECRET_KEYS.flatMap((k) => [keyPath(k), join('*', k), join('*.*', k)]),
];

export const REDACTED = '[REDACTED]';

/** Query parameters whose values are secrets (e.g. signed download links, `?api_key=`). */
const SECRET_QUERY = /^(token|access_token|api_key|apikey|key|secret|password|signature|sig|jwt)$/i;

/** The URL with secret query values replaced, for the request log line. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq >= 0 && SECRET_QUERY.test(decoded) ? `${name}=${encodeURIComponent(REDACTED)}` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}
