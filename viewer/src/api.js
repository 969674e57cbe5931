// The API, same origin, with the key from sessionStorage sent as X-API-Key (never in a URL).

const KEY = 'ionworks.apiKey'

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
}

/** An error a person can act on: `message` says what happened and what to do. */
export class ViewerError extends Error {
  constructor(message, { status = 0, code = '' } = {}) {
    super(message)
    this.status = status
    this.code = code
  }
}

function explain(status, body) {
  const message = body?.message || `HTTP ${status}`
  if (status === 403) return ['The server refused the API key. Log out and enter a valid key (`ionworks serve` prints one; `ionworks_server admin create-key` makes another).', 'FORBIDDEN']
  if (status === 409) return [message, body?.error_code || 'CONFLICT']
  return [message, body?.error_code || '']
}

/** JSON from the API; throws ViewerError with the server's message (or why it could not be reached). */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = { 'X-API-Key': key.get() || '' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response
  try {
    response = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    })
  } catch (err) {
    if (err.name === 'AbortError') throw err
    throw new ViewerError(`Cannot reach the server at ${location.origin}: is \`ionworks serve\` still running? (${err.message})`)
  }
  let parsed = null
  try { parsed = await response.json() } catch { parsed = null }
  if (!response.ok) {
    const [message, code] = explain(response.status, parsed)
    throw new ViewerError(message, { status: response.status, code })
  }
  return parsed
}

/** A query string from an object, leaving out empty values. */
export function qs(params) {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, v)
  const text = search.toString()
  return text ? `?${text}` : ''
}
