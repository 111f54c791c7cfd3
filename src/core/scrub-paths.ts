/**
 * Server file-system paths out of text that leaves the server (problem details, job error messages).
 * An absolute path says where the server keeps its data and who runs it; a client never needs it.
 *
 * A path is a run of at least two `/name` (or `\name`) segments, optionally behind a drive letter
 * or a `file:` URL scheme, that starts the text or follows a space, quote, bracket, `=`, `,` or
 * `:`. The path of a URL (`https://host/a/b`) does not qualify: it follows the host name.
 */
const PATH =
  /(^|[\s'"`([{=,:;<])((?:file:)?(?:\/\/)?(?:[A-Za-z]:)?(?:[\\/][^\s\\/'"`:;,()[\]{}<>]+){2,}[\\/]?)/g;

export const PATH_PLACEHOLDER = '<file>';

/**
 * `message` with every absolute path replaced by `<file>`, except those `keep` accepts (e.g. the
 * API's own routes, which a 404 message quotes).
 */
export function scrubPaths(message: string, keep?: (path: string) => boolean): string {
  return message.replace(PATH, (whole, lead: string, path: string) =>
    keep?.(path) ? whole : `${lead}${PATH_PLACEHOLDER}`,
  );
}

/** `scrubPaths` over every string inside a JSON-like value (a new value; the input is not changed). */
export function scrubPathsDeep<T>(value: T, keep?: (path: string) => boolean): T {
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return scrubPaths(v, keep);
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x)]));
    return v;
  };
  return scrub(value) as T;
}
