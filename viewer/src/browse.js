// Browse: specifications (the seed's filters, paging with the total), a specification's
// instances, an instance's measurements. Every filter lives in the URL.

import { api, qs } from './api.js'
import { fill, fmt, h } from './dom.js'
import { go, href } from './router.js'

const PAGE = 25

function isoDay(value, end = false) {
  // A date input's day as the ISO bound the API's strict _gt/_lt filters expect.
  return value ? `${value}T${end ? '23:59:59.999' : '00:00:00'}Z` : undefined
}

function specQuery(p) {
  return {
    limit: PAGE,
    offset: p.offset || 0,
    name: p.exact ? `eq.${p.exact}` : p.q ? `ilike.%${p.q}%` : undefined,
    form_factor: p.form_factor ? `ilike.%${p.form_factor}%` : undefined,
    created_by_email: p.creator ? `ilike.%${p.creator}%` : undefined,
    created_at_gt: isoDay(p.created_after),
    created_at_lt: isoDay(p.created_before, true),
    updated_at_gt: isoDay(p.updated_after),
    updated_at_lt: isoDay(p.updated_before, true),
    order_by: p.order_by || undefined,
    order: p.order || undefined,
  }
}

function field(label, name, value, attrs = {}) {
  return h('label', {}, label, h('input', { name, value: value || '', ...attrs }))
}

function select(label, name, value, options) {
  return h('label', {}, label, h('select', { name },
    options.map(([v, text]) => {
      const option = h('option', { value: v }, text)
      option.selected = v === (value || '')
      return option
    })))
}

function formParams(form) {
  return Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v !== ''))
}

function pager(view, id, p, count, total) {
  const offset = Number(p.offset || 0)
  return h('div', { class: 'pager' },
    h('button', { type: 'button', disabled: offset === 0, onclick: () => go(view, id, { ...p, offset: Math.max(0, offset - PAGE) }) }, '‹ Previous'),
    h('span', {}, total ? `${offset + 1}–${offset + count} of ${total}` : 'none'),
    h('button', { type: 'button', disabled: offset + count >= total, onclick: () => go(view, id, { ...p, offset: offset + PAGE }) }, 'Next ›'))
}

export async function specsView(root, p) {
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('specs', '', formParams(form)) } },
    field('Name contains', 'q', p.q, { testid: 'spec-search', type: 'search', placeholder: 'graphite' }),
    field('Exact name', 'exact', p.exact),
    field('Form factor', 'form_factor', p.form_factor),
    field('Creator', 'creator', p.creator),
    field('Created after', 'created_after', p.created_after, { type: 'date' }),
    field('Created before', 'created_before', p.created_before, { type: 'date' }),
    field('Updated after', 'updated_after', p.updated_after, { type: 'date' }),
    field('Updated before', 'updated_before', p.updated_before, { type: 'date' }),
    select('Order by', 'order_by', p.order_by, [['', 'default'], ['name', 'name'], ['created_at', 'created'], ['updated_at', 'updated']]),
    select('Direction', 'order', p.order, [['', 'default'], ['asc', 'ascending'], ['desc', 'descending']]),
    h('button', { type: 'submit', testid: 'spec-search-submit' }, 'Search'))
  const results = h('div', {}, h('p', { class: 'muted loading' }, 'Loading…'))
  fill(root, h('h2', {}, 'Cell specifications'), form, results)
  const page = await api(`/cell_specifications${qs(specQuery(p))}`)
  const rows = page.items.map((s) => h('tr', { testid: 'spec-row', class: 'link', onclick: () => go('spec', s.id) },
    h('td', {}, h('a', { href: href('spec', s.id) }, s.name)), h('td', {}, s.chemistry || ''),
    h('td', {}, s.form_factor || ''), h('td', {}, s.manufacturer || ''), h('td', {}, (s.created_at || '').slice(0, 10))))
  fill(results,
    h('p', {}, h('strong', { testid: 'spec-total' }, String(page.total)), page.total === 1 ? ' specification' : ' specifications'),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['Name', 'Chemistry', 'Form factor', 'Manufacturer', 'Created'].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
    pager('specs', '', p, page.count, page.total))
}

function details(entries) {
  return h('dl', { class: 'details' }, entries.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : fmt(v))]))
}

export async function specView(root, id, p, crumbs) {
  const spec = await api(`/cell_specifications/${encodeURIComponent(id)}`)
  crumbs([[spec.name, href('spec', id)]])
  const page = await api(`/cell_specifications/${encodeURIComponent(id)}/cell_instances${qs({ limit: PAGE, offset: p.offset || 0 })}`)
  const rows = page.items.map((c) => h('tr', { testid: 'instance-row', class: 'link', onclick: () => go('instance', c.id) },
    h('td', {}, h('a', { href: href('instance', c.id) }, c.name)), h('td', {}, c.batch_name || ''), h('td', {}, (c.created_at || '').slice(0, 10))))
  fill(root, h('h2', {}, spec.name),
    details([['Chemistry', spec.chemistry], ['Form factor', spec.form_factor], ['Manufacturer', spec.manufacturer], ['Ratings', spec.ratings], ['Notes', spec.notes]]),
    h('h3', {}, `Cell instances (${page.total})`),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['Name', 'Batch', 'Created'].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
    pager('spec', id, p, page.count, page.total))
}

export async function instanceView(root, id, p, crumbs) {
  const cell = await api(`/cell_instances/${encodeURIComponent(id)}`)
  const spec = await api(`/cell_specifications/${encodeURIComponent(cell.cell_specification_id)}`)
  crumbs([[spec.name, href('spec', spec.id)], [cell.name, href('instance', id)]])
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('instance', id, formParams(form)) } },
    select('Type', 'type', p.type, [['', 'any'], ['time_series', 'time series'], ['properties', 'properties'], ['file', 'file']]),
    field('Started after', 'started_after', p.started_after, { type: 'date' }),
    field('Started before', 'started_before', p.started_before, { type: 'date' }),
    h('button', { type: 'submit' }, 'Filter'))
  const query = {
    limit: PAGE, offset: p.offset || 0, measurement_type: p.type,
    start_time_gt: isoDay(p.started_after), start_time_lt: isoDay(p.started_before, true), order_by: 'start_time', order: 'asc',
  }
  const page = await api(`/cell_instances/${encodeURIComponent(id)}/cell_measurements${qs(query)}`)
  const rows = page.items.map((m) => h('tr', { testid: 'measurement-row', class: 'link', 'data-type': m.measurement_type, onclick: () => go('measurement', m.id) },
    h('td', {}, h('a', { href: href('measurement', m.id) }, m.name)), h('td', {}, m.measurement_type),
    h('td', {}, (m.start_time || '').replace('T', ' ').slice(0, 16)), h('td', {}, m.processing_status || ''), h('td', {}, fmt(m.row_count))))
  fill(root, h('h2', {}, cell.name),
    details([['Specification', spec.name], ['Batch', cell.batch_name], ['Notes', cell.notes], ['Created by', cell.created_by_email]]),
    h('h3', {}, `Measurements (${page.total})`), form,
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['Name', 'Type', 'Start', 'Status', 'Rows'].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
    pager('instance', id, p, page.count, page.total))
}
