/**
 * The page's only way to the REST API. The credential goes in a header on every call (X-API-KEY, or
 * Authorization: Bearer for a JWT), never in a URL: downloads are fetched and saved as blobs, and
 * server-sent events are read through fetch rather than EventSource.
 */
import { ApiError, networkProblem, toProblem } from './problem';
import { authHeaders, type Credential } from './credential';
import { readEventStream, type StreamEvent } from './sse';

export { credentialFrom, type Credential } from './credential';

export interface UploadProgress {
  loaded: number;
  total: number;
}

export class Api {
  constructor(private readonly credential: Credential) {}

  private authHeaders(): Record<string, string> {
    return authHeaders(this.credential);
  }

  /** fetch with the credential; a non-2xx answer becomes an ApiError carrying the problem. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(path, {
        ...init,
        headers: { Accept: 'application/json', ...this.authHeaders(), ...(init.headers ?? {}) },
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new ApiError(networkProblem(err));
    }
    if (!res.ok) throw new ApiError(toProblem(res.status, res.headers.get('content-type'), await res.text()));
    return res;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return (await this.request(path, { signal })).json() as Promise<T>;
  }

  async send<T>(method: 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown): Promise<T> {
    const res = await this.request(path, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Downloads a body with progress (for stems: bytes known from the job's sizeBytes). */
  async bytes(path: string, onProgress?: (loaded: number) => void, signal?: AbortSignal): Promise<Blob> {
    const res = await this.request(path, { signal, headers: { Accept: '*/*' } });
    if (!onProgress || !res.body) return res.blob();
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let loaded = 0;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.byteLength;
      onProgress(loaded);
    }
    return new Blob(parts as BlobPart[], { type: res.headers.get('content-type') ?? '' });
  }

  /**
   * Multipart upload through XMLHttpRequest, the one browser API that reports upload progress.
   * Resolves with the parsed JSON of a 2xx answer; rejects with an ApiError otherwise.
   */
  upload<T>(
    path: string,
    form: FormData,
    onProgress: (p: UploadProgress) => void,
    signal?: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      for (const [k, v] of Object.entries(this.authHeaders())) xhr.setRequestHeader(k, v);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) =>
        onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as T);
          } catch (err) {
            reject(new ApiError(networkProblem(err)));
          }
        } else {
          const problem = toProblem(xhr.status, xhr.getResponseHeader('content-type'), xhr.responseText);
          const retry = Number(xhr.getResponseHeader('retry-after'));
          if (problem.retryAfterSeconds === undefined && retry > 0) problem.retryAfterSeconds = retry;
          reject(new ApiError(problem));
        }
      };
      xhr.onerror = () => reject(new ApiError(networkProblem(new Error('upload failed'))));
      xhr.onabort = () => reject(new DOMException('Upload canceled', 'AbortError'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  }

  /** Follows a server-sent event stream until it ends, the callback returns true, or `signal` aborts. */
  async events(
    path: string,
    onEvent: (event: StreamEvent) => boolean | void,
    signal: AbortSignal,
  ): Promise<void> {
    const inner = new AbortController();
    const stop = () => inner.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const res = await this.request(path, {
        signal: inner.signal,
        headers: { Accept: 'text/event-stream' },
      });
      if (!res.body) return;
      await readEventStream(res.body, (e) => {
        if (onEvent(e) === true) inner.abort();
      });
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') throw err;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }
}
