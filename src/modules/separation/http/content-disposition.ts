import contentDisposition from 'content-disposition';

/**
 * `attachment` with an ASCII fallback name (`filename="…"`, quotes and backslashes escaped) and the
 * exact UTF-8 name (`filename*=UTF-8''…`) when the name is not plain ASCII (RFC 6266 / RFC 8187).
 * The `content-disposition` package (Express's own) gets the escaping right.
 */
export function attachmentDisposition(fileName: string): string {
  return contentDisposition(fileName, { type: 'attachment' });
}
