// The HTTP API, as the signed-in browser calls it: the session cookie authenticates every
// call (same-origin fetch sends it), and every POST carries the session's CSRF token.

let csrfToken = null;
const unauthorizedListeners = [];

export function setCsrf(token) {
  csrfToken = token;
}

// Called when the server says the session is over (401).
export function onUnauthorized(fn) {
  unauthorizedListeners.push(fn);
}

export class ApiError extends Error {
  constructor(status, kind, message, details) {
    super(message);
    this.status = status;
    this.kind = kind;
    this.details = details;
  }
}

function urlOf(path, query) {
  const url = new URL(path, window.location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  return url;
}

// request('/api/v1/flows') -> the parsed answer; throws ApiError with the server's message.
export async function request(path, { method = 'GET', body, query, signal, quietAuth = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(urlOf(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The service cannot be reached: ' + e.message);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    const e = new ApiError(res.status, err.kind || 'http', err.message || `The service answered ${res.status}`, err.details);
    if (res.status === 401 && !quietAuth) for (const fn of unauthorizedListeners) fn(e);
    throw e;
  }
  return data;
}

export const get = (path, query, opts = {}) => request(path, { ...opts, query });
export const post = (path, body, opts = {}) => request(path, { ...opts, method: 'POST', body });

export const enc = encodeURIComponent;
