// One measurement: the time-series panels (first paint from the server's decimated overview,
// zoomed windows refined from range reads of the parquet file), step overlays, cycles table
// and plots, downloads, and the SQL box.

import { api, qs, ViewerError } from './api.js'
import { report } from './errors.js'
import { fill, h, saveAs, table, toCsv } from './dom.js'
import { MAX_RANGE_ROWS, RangeFile, decimate } from './parquet.js'
import { STEP_KINDS, TimePanels, stepKind, xyPlot } from './plots.js'
import { href } from './router.js'
import { sqlBox } from './sql.js'

const TIME = 'Time [s]'

/** Resolves once the browser has painted the frame that holds what was just drawn. */
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))

function stepsOf(steps) {
  const start = steps?.['Start time [s]'] || []
  const end = steps?.['End time [s]'] || []
  const kind = (steps?.['Step type'] || []).map(stepKind)
  return { start, end, kind }
}

function overviewData(overview) {
  return Object.fromEntries(Object.entries(overview.series).map(([c, s]) => [c, [s.time, s.values]]))
}

class SeriesView {
  constructor(id, overview, panels, status) {
    this.id = id
    this.overview = overview
    this.panels = panels
    this.status = status
    this.file = overview.files.time_series ? new RangeFile(overview.files.time_series.url, overview.files.time_series.size) : null
    this.token = 0
    const [t0, t1] = overview.time_range || [0, 1]
    this.full = [t0, t1]
    panels.full = this.full
  }

  async refine(t0, t1) {
    const token = ++this.token
    const started = performance.now()
    const [lo, hi] = this.full
    const points = 2 * this.panels.width
    let data
    let source
    if (t1 - t0 >= 0.9 * (hi - lo)) {
      data = overviewData(this.overview)
      source = 'overview'
    } else {
      this.panels.show(overviewData(this.overview), t0, t1) // coarse at once, refined below
      ;({ data, source } = await this.window(t0, t1, points))
    }
    const read = performance.now() - started
    if (token !== this.token) return
    this.panels.show(data, t0, t1)
    this.status(source, this.file)
    await nextFrame()
    // Timings for tests and `make bench-viewer`: from the change of window to the frame drawn.
    const el = this.panels.container
    el.viewerWindow = { t0, t1, data } // what is drawn, for tests to compare with the file
    el.dataset.refineMs = (performance.now() - started).toFixed(1)
    el.dataset.refineReadMs = read.toFixed(1) // of which reading and decimating the window
    el.dataset.refineSource = source
    el.dataset.rangeBytes = String(this.file?.bytes || 0)
    el.dataset.refines = String(Number(el.dataset.refines || 0) + 1)
  }

  async window(t0, t1, points) {
    const columns = this.overview.columns
    if (this.file) {
      try {
        const groups = await this.file.groupsFor(TIME, t0, t1)
        if (groups && groups.reduce((n, g) => n + g.rows, 0) <= MAX_RANGE_ROWS) {
          const read = await this.file.read([TIME, ...columns], groups)
          const data = Object.fromEntries(columns.map((c) => [c, decimate(read[TIME], read[c], t0, t1, points)]))
          return { data, source: 'range' }
        }
      } catch (err) {
        console.warn('range read failed, asking the server', err)
      }
    }
    const window = await api(`/cell_measurements/${encodeURIComponent(this.id)}/time_series/overview${qs({ points: Math.min(5000, points), start: t0, end: t1 })}`)
    return { data: overviewData(window), source: 'server' }
  }
}

function overlayToggles(panels) {
  return h('div', { class: 'toggles' }, 'Steps: ', STEP_KINDS.map(([kind, label, color]) => {
    const box = h('input', { type: 'checkbox', checked: true, onchange: () => panels.toggle(kind, box.checked) })
    const swatch = h('span', { class: `swatch swatch-${kind}` })
    swatch.style.background = color
    return h('label', { testid: 'step-overlay', 'data-kind': kind }, box, swatch, label)
  }))
}

function controls(panels) {
  return h('div', { class: 'controls' },
    h('button', { type: 'button', onclick: () => panels.pan(-0.5), title: 'Pan left' }, '◀'),
    h('button', { type: 'button', onclick: () => panels.zoom(0.5), testid: 'zoom-in' }, 'Zoom in'),
    h('button', { type: 'button', onclick: () => panels.zoom(2) }, 'Zoom out'),
    h('button', { type: 'button', onclick: () => panels.reset(), testid: 'zoom-reset' }, 'Reset'),
    h('button', { type: 'button', onclick: () => panels.pan(0.5), title: 'Pan right' }, '▶'),
    h('span', { class: 'muted' }, ' Drag across a plot to zoom, scroll to zoom, double-click to reset.'))
}

function downloads(measurement, overview, tables) {
  const files = overview?.files || {}
  const links = Object.entries(files).map(([name, f]) =>
    h('a', { class: 'button', href: f.url, download: `${measurement.name}-${name}.parquet`, testid: `download-${name}` }, `${name}.parquet`))
  const csv = (name) => h('button', { type: 'button', testid: `download-${name}-csv`, onclick: () => {
    const data = tables[name] || {}
    saveAs(new Blob([toCsv(Object.keys(data), data)], { type: 'text/csv' }), `${measurement.name}-${name}.csv`)
  } }, `${name}.csv`)
  return h('div', { class: 'downloads' }, 'Download: ', links, csv('steps'), csv('cycles'))
}

function cyclesSection(cycles) {
  const columns = Object.keys(cycles || {})
  if (!columns.length) return h('p', { class: 'muted' }, 'No cycles.')
  const n = cycles[columns[0]].length
  const cycle = cycles['Cycle count'] || [...Array(n).keys()]
  const plots = h('div', { class: 'row' })
  const shown = [
    ['Discharge capacity [A.h]', 'Charge capacity [A.h]'],
    ['Coulombic efficiency'],
  ]
  requestAnimationFrame(() => {
    for (const names of shown) {
      const series = names.filter((c) => cycles[c]).map((c) => [c, cycles[c]])
      if (!series.length) continue
      const box = h('div', { class: 'card', testid: 'cycles-plot' })
      plots.append(box)
      xyPlot(box, cycle, series, { xLabel: 'Cycle', width: 520 })
    }
  })
  return h('div', {}, plots, table(columns, cycles, { testid: 'cycles-table' }))
}

async function trail(measurement, crumbs) {
  const cell = await api(`/cell_instances/${encodeURIComponent(measurement.cell_instance_id)}`)
  const spec = await api(`/cell_specifications/${encodeURIComponent(cell.cell_specification_id)}`)
  crumbs([[spec.name, href('spec', spec.id)], [cell.name, href('instance', cell.id)], [measurement.name, href('measurement', measurement.id)]])
}

export async function measurementView(root, id, p, crumbs, clicked) {
  // The plot's data is asked for at once, beside the metadata (one round trip to first paint).
  const width = Math.max(400, root.isConnected ? root.clientWidth : 1200)
  const path = `/cell_measurements/${encodeURIComponent(id)}`
  const early = [api(`${path}/time_series/overview${qs({ points: 2 * width })}`), api(`${path}/steps_and_cycles`)]
  for (const request of early) request.catch(() => {}) // judged below, once the type is known
  const measurement = await api(path)
  trail(measurement, crumbs).catch(report)
  const head = h('div', {}, h('h2', {}, measurement.name), h('p', { class: 'muted' },
    `${measurement.measurement_type} · started ${(measurement.start_time || '').replace('T', ' ').slice(0, 16)} · ${measurement.row_count ?? '?'} rows`),
    measurement.notes ? h('p', {}, measurement.notes) : null)
  if (measurement.measurement_type !== 'time_series') {
    const body = measurement.properties ? h('pre', {}, JSON.stringify(measurement.properties, null, 2)) : h('p', {}, (measurement.filenames || []).join(', '))
    fill(root, head, body)
    return
  }
  if (measurement.processing_status !== 'ready') {
    const why = measurement.processing_status === 'failed'
      ? `This measurement failed processing: ${measurement.processing_error}. Upload a corrected file as a new measurement.`
      : `This measurement is still processing (${measurement.processing_status}); reload the page in a moment.`
    throw new ViewerError(why, { code: 'CONFLICT', status: 409 })
  }
  const plot = h('div', { class: 'plot', testid: 'timeseries-plot' })
  const status = h('p', { class: 'muted small', testid: 'plot-status' })
  fill(root, head, plot, status)
  const [overview, tables] = await Promise.all(early)
  let view
  const panels = new TimePanels(plot, overview.columns, stepsOf(tables.steps), (t0, t1) => {
    view.refine(t0, t1).catch(report)
  })
  view = new SeriesView(id, overview, panels, (source, file) => {
    status.textContent = `Showing ${source === 'range' ? 'a window read from the parquet file by range requests' : source === 'server' ? 'a window decimated by the server' : 'the whole series, decimated'}` +
      (file ? ` · ${(file.bytes / 1024).toFixed(0)} KiB read by range of ${(file.size / 1024).toFixed(0)} KiB` : '')
  })
  const [t0, t1] = view.full
  panels.show(overviewData(overview), t0, t1)
  await nextFrame()
  plot.dataset.paintMs = (performance.now() - clicked).toFixed(1)
  plot.dataset.ready = '1'
  view.file?.metadata().catch(() => {}) // the footer now, so the first zoom reads only its window
  status.textContent = `${overview.rows.toLocaleString()} rows, shown decimated (min/max per pixel column).`
  plot.before(controls(panels), overlayToggles(panels))
  root.append(
    downloads(measurement, overview, tables),
    h('h3', {}, 'Cycles'), cyclesSection(tables.cycles),
    h('h3', {}, 'SQL'), sqlBox(id))
}
