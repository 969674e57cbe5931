// Where the user is lives in the URL hash (ids and filters, never the key): #/specs?name=...,
// #/spec/ID, #/instance/ID, #/measurement/ID. Bookmarkable, and the back button works.

export function current() {
  const hash = location.hash.replace(/^#/, '') || '/specs'
  const [path, search = ''] = hash.split('?')
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  return { view: parts[0] || 'specs', id: parts[1] || '', params: Object.fromEntries(new URLSearchParams(search)) }
}

export function href(view, id = '', params = {}) {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, v)
  const text = search.toString()
  return `#/${view}${id ? '/' + encodeURIComponent(id) : ''}${text ? '?' + text : ''}`
}

export function go(view, id = '', params = {}, { replace = false } = {}) {
  const target = href(view, id, params)
  const same = location.hash === target
  if (replace) history.replaceState(null, '', target)
  else if (!same) location.hash = target
  // Same place again (a search repeated): no hashchange fires, so ask for the render.
  if (replace || same) window.dispatchEvent(new HashChangeEvent('hashchange'))
}
