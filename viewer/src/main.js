// The viewer's entry point: the login (key in sessionStorage only), the error banner, and the
// router that renders the view the URL names.

import { api, key } from './api.js'
import { instanceView, specView, specsView } from './browse.js'
import { fill, h } from './dom.js'
import { onError, report } from './errors.js'
import { measurementView } from './measurement.js'
import { current, go, href } from './router.js'

const app = document.getElementById('app')
const banner = h('div', { class: 'error-banner', role: 'alert', testid: 'error-message', hidden: true })
const nav = h('nav', { class: 'crumbs' })
const who = h('span', { class: 'who' })
const main = h('main', {})
let clickedAt = performance.now()

onError((err) => {
  if (err?.name === 'AbortError') return
  console.error(err)
  banner.textContent = err?.message || String(err)
  banner.hidden = false
  if (err?.status === 403) { key.clear(); loginView() }
})

function clearError() { banner.hidden = true; banner.textContent = '' }

function crumbs(trail) {
  fill(nav, h('a', { href: href('specs') }, 'Specifications'), trail.flatMap(([text, link]) => [' › ', h('a', { href: link }, text)]))
}

function loginView(message) {
  fill(who)
  fill(nav)
  const input = h('input', { type: 'password', testid: 'login-key', autocomplete: 'off', placeholder: 'iwk_…', size: 48 })
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault()
    clearError()
    key.set(input.value.trim())
    try {
      await whoAmI()
      render()
    } catch (err) {
      key.clear()
      report(err)
    }
  } },
  h('h2', {}, 'Log in'),
  h('p', {}, 'Enter an API key of this server. It stays in this tab only (sessionStorage) and is sent as the X-API-Key header.'),
  input, ' ', h('button', { type: 'submit', testid: 'login-submit' }, 'Log in'),
  message ? h('p', { class: 'muted' }, message) : null)
  fill(main, form)
  input.focus()
}

async function whoAmI() {
  const me = await api('/users/me')
  fill(who, `${me.email} · ${me.authorized_organization?.name || ''} `,
    h('button', { type: 'button', testid: 'logout', onclick: () => { key.clear(); loginView('Logged out.') } }, 'Log out'))
}

let generation = 0
async function render() {
  if (!key.get()) { loginView(); return }
  const mine = ++generation
  const { view, id, params } = current()
  const container = h('div', {})
  fill(main, container)
  crumbs([])
  const setCrumbs = (trail) => { if (mine === generation) crumbs(trail) }
  try {
    if (!who.textContent) await whoAmI()
    if (view === 'spec') await specView(container, id, params, setCrumbs)
    else if (view === 'instance') await instanceView(container, id, params, setCrumbs)
    else if (view === 'measurement') await measurementView(container, id, params, setCrumbs, clickedAt)
    else await specsView(container, params)
    if (mine === generation) clearError()
  } catch (err) {
    if (mine !== generation) return
    for (const el of container.querySelectorAll('.loading')) el.textContent = 'Not loaded: see the message above.'
    report(err)
  }
}

// Measure the first paint from the user's click (or the page load) to the drawn plot.
document.addEventListener('click', () => { clickedAt = performance.now() }, true)
window.addEventListener('hashchange', () => render())
fill(app, h('header', {}, h('h1', {}, h('a', { href: href('specs') }, 'Ionworks viewer')), who), nav, banner, main)
if (!location.hash) go('specs', '', {}, { replace: true })
else render()
