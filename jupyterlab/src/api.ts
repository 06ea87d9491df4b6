/**
 * Calls to `nbkf serve` through the Jupyter server extension's proxy (`<base>/nbkf/...`),
 * signed in as the JupyterLab page is: the proxy adds nbkf's token, the browser never has it.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { Diagnostic } from './model';

/** nbkf's error body: `{error: {code, message, hint, cell, cell_id}, diagnostics}`. */
interface ErrorBody {
  error?: {
    code?: string;
    message?: string;
    hint?: string;
    cell?: number;
    cell_id?: string;
  };
  diagnostics?: Diagnostic[];
}

/** A failed call, with what nbkf (or the proxy) said and what to do. */
export class NbkfError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint?: string;
  readonly cell?: number;
  readonly diagnostics?: Diagnostic[];

  constructor(status: number, body: ErrorBody | null, fallback?: string) {
    const detail = (body && body.error) || {};
    super(detail.message || fallback || `nbkf answered ${status}`);
    this.status = status;
    this.code = detail.code || 'error';
    this.hint = detail.hint;
    this.cell = detail.cell;
    this.diagnostics = (body && body.diagnostics) || undefined;
  }
}

/** The address of an nbkf API path (`api/v1/...`) behind the proxy. */
export function nbkfUrl(path: string, settings = ServerConnection.makeSettings()): string {
  return URLExt.join(settings.baseUrl, 'nbkf', path);
}

/** Sends a request: GET without a body, POST with one; the raw response. */
export async function send(
  path: string,
  body?: unknown,
  init: RequestInit = {}
): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const request: RequestInit =
    body === undefined
      ? { method: 'GET', ...init }
      : {
          method: 'POST',
          body: JSON.stringify(body),
          ...init,
          headers: { 'Content-Type': 'application/json', ...(init.headers || {}) }
        };
  try {
    return await ServerConnection.makeRequest(nbkfUrl(path, settings), request, settings);
  } catch (e) {
    if (init.signal && init.signal.aborted) {
      throw e;
    }
    throw new NbkfError(0, null, `the Jupyter server cannot be reached (${(e as Error).message})`);
  }
}

/** Calls the API and returns its JSON answer; a non-2xx answer becomes an {@link NbkfError}. */
export async function api<T>(path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const response = await send(path, body, init);
  let data: unknown = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 403 || response.status === 401) {
      throw new NbkfError(response.status, data as ErrorBody, 'not signed in to this Jupyter server');
    }
    throw new NbkfError(response.status, data as ErrorBody);
  }
  return data as T;
}

/**
 * Reads a run's server-sent events (`api/v1/runs/{id}/events`) until the stream ends,
 * calling `onEvent` with each event's name and parsed data. Read through `fetch` (not
 * `EventSource`) so it carries the same credentials as every other call.
 */
export async function followEvents(
  path: string,
  onEvent: (kind: string, data: any) => void,
  signal: AbortSignal
): Promise<void> {
  const response = await send(path, undefined, {
    signal,
    headers: { Accept: 'text/event-stream' }
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    let body: ErrorBody | null = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    throw new NbkfError(response.status, body);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') {
          kind = value;
        } else if (field === 'data') {
          data.push(value);
        }
      }
      if (data.length) {
        let parsed: unknown = data.join('\n');
        try {
          parsed = JSON.parse(parsed as string);
        } catch {
          // left as text
        }
        onEvent(kind, parsed);
      }
    }
  }
}
