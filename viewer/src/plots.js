// Time-series panels (voltage, current, temperature against time) on uPlot canvases, with the
// steps shaded by type under the lines, zoom (drag, wheel, buttons) and pan, and a refinement
// of the visible window after every change of the time axis.

import uPlot from 'uplot'
import { h } from './dom.js'

export const STEP_KINDS = [
  ['rest', 'Rest', 'rgba(140, 140, 140, 0.16)'],
  ['discharge', 'Discharge', 'rgba(214, 69, 65, 0.14)'],
  ['charge', 'Charge (CC)', 'rgba(52, 120, 220, 0.14)'],
  ['cv', 'Constant voltage', 'rgba(46, 160, 90, 0.18)'],
  ['other', 'Other', 'rgba(190, 150, 40, 0.12)'],
]

export function stepKind(type) {
  const t = String(type || '').toLowerCase()
  if (t.includes('rest')) return 'rest'
  if (t.includes('voltage')) return 'cv'
  if (t.includes('discharge')) return 'discharge'
  if (t.includes('charge')) return 'charge'
  return 'other' // "Unknown step type", pulses, EIS, ...: shaded too, so every step shows
}

const COLORS = ['#1f5fbf', '#c0392b', '#2e8b57']

const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000, 2592000]

/** Tick labels with as many decimals as the tick spacing needs (uPlot's default stops at 3). */
function numberTicks(u, splits, axis, space, incr) {
  const decimals = Math.max(0, Math.min(12, -Math.floor(Math.log10(incr || 1))))
  return splits.map((v) => v.toFixed(decimals))
}

function timeTicks(u, splits) {
  const range = u.scales.x.max - u.scales.x.min
  return splits.map((v) => (range > 7200 ? `${+(v / 3600).toFixed(2)} h` : `${+v.toFixed(1)} s`))
}

/** Panels sharing one time axis. `onWindow(t0, t1)` is called after every zoom or pan. */
export class TimePanels {
  constructor(container, columns, steps, onWindow) {
    this.container = container
    this.columns = columns
    this.onWindow = onWindow
    this.steps = steps
    this.shown = new Set(STEP_KINDS.map(([k]) => k))
    this.guard = false
    this.full = [0, 1]
    this.panels = []
    this.overlaysDrawn = 0
    const width = Math.max(400, container.clientWidth - 8)
    this.width = width
    for (const [i, column] of columns.entries()) {
      const holder = h('div', { class: 'panel', 'data-column': column })
      container.append(holder)
      const opts = {
        width,
        height: columns.length > 2 ? 170 : 220,
        legend: { show: true },
        cursor: {
          sync: { key: 'iw-time' }, drag: { x: true, y: false, setScale: true }, points: { show: false },
          bind: { dblclick: () => () => { this.reset(); return null } },
        },
        scales: { x: { time: false } },
        axes: [{ values: timeTicks, incrs: TIME_INCRS }, { label: column, size: 60, values: numberTicks }],
        series: [{ label: 'Time [s]' }, { label: column, stroke: COLORS[i % COLORS.length], width: 1, points: { show: false } }],
        hooks: {
          drawClear: [(u) => this.drawSteps(u)],
          setScale: [(u, key) => { if (key === 'x') this.scaleChanged(u) }],
        },
      }
      this.panels.push(new uPlot(opts, [[], []], holder))
    }
    container.addEventListener('wheel', (e) => this.wheel(e), { passive: false })
  }

  /** Draw every panel from {column: [time, values]} and keep the axis at [t0, t1]. */
  show(data, t0, t1) {
    this.window = [t0, t1]
    this.guard = true
    try {
      for (const [i, column] of this.columns.entries()) {
        const pair = data[column] || [[], []]
        this.panels[i].setData([pair[0], pair[1]])
        this.panels[i].setScale('x', { min: t0, max: t1 })
      }
    } finally {
      this.guard = false
    }
  }

  scaleChanged(u) {
    const { min, max } = u.scales.x
    // uPlot may run this hook after the call that set the scale returned (batched commits):
    // a scale already at the current window is the echo of our own change, not a new one.
    const [w0, w1] = this.window || [NaN, NaN]
    const eps = Math.abs(w1 - w0) * 1e-9
    if (this.guard || (Math.abs(min - w0) <= eps && Math.abs(max - w1) <= eps)) return
    this.window = [min, max]
    this.guard = true
    try {
      for (const other of this.panels) if (other !== u) other.setScale('x', { min, max })
    } finally {
      this.guard = false
    }
    this.onWindow(min, max)
  }

  setWindow(t0, t1) {
    const [lo, hi] = this.full
    const span = Math.min(t1 - t0, hi - lo)
    let a = Math.max(lo, Math.min(t0, hi - span))
    this.panels[0].setScale('x', { min: a, max: a + span })
  }

  zoom(factor, center) {
    const [t0, t1] = this.window
    const c = center ?? (t0 + t1) / 2
    this.setWindow(c - (c - t0) * factor, c + (t1 - c) * factor)
  }

  pan(fraction) {
    const [t0, t1] = this.window
    const d = (t1 - t0) * fraction
    this.setWindow(t0 + d, t1 + d)
  }

  reset() { this.setWindow(this.full[0], this.full[1]) }

  wheel(e) {
    const u = this.panels.find((p) => p.over.contains(e.target))
    if (!u) return
    e.preventDefault()
    clearTimeout(this.wheelTimer)
    const rect = u.over.getBoundingClientRect()
    const center = u.posToVal(e.clientX - rect.left, 'x')
    this.pendingZoom = (this.pendingZoom || 1) * (e.deltaY > 0 ? 1.25 : 0.8)
    this.wheelTimer = setTimeout(() => { const f = this.pendingZoom; this.pendingZoom = 1; this.zoom(f, center) }, 80)
  }

  toggle(kind, on) {
    if (on) this.shown.add(kind)
    else this.shown.delete(kind)
    for (const p of this.panels) p.redraw(false)
  }

  drawSteps(u) {
    const steps = this.steps
    this.container.dataset.overlays = '0'
    if (!steps || !this.shown.size) return
    const { ctx, bbox } = u
    const { min, max } = u.scales.x
    if (min === undefined || max === undefined) return
    const fills = Object.fromEntries(STEP_KINDS.map(([k, , c]) => [k, c]))
    let drawn = 0
    ctx.save()
    for (let i = 0; i < steps.start.length; i++) {
      const s = steps.start[i]
      const e = steps.end[i]
      if (e < min || s > max || !this.shown.has(steps.kind[i])) continue
      const x0 = Math.max(bbox.left, u.valToPos(s, 'x', true))
      const x1 = Math.min(bbox.left + bbox.width, u.valToPos(e, 'x', true))
      if (x1 - x0 < 0.5) continue
      ctx.fillStyle = fills[steps.kind[i]]
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height)
      drawn++
    }
    ctx.restore()
    this.overlaysDrawn = drawn
    this.container.dataset.overlays = String(drawn)
  }

  destroy() { for (const p of this.panels) p.destroy() }
}

/** A small line (or point) plot of y against x, for cycles and SQL results. */
export function xyPlot(container, x, series, { xLabel, points = false, width } = {}) {
  const w = width || Math.max(320, Math.min(560, container.clientWidth || 560))
  const opts = {
    width: w,
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: xLabel, size: 40, values: numberTicks }, { size: 70, values: numberTicks }],
    series: [{ label: xLabel }, ...series.map(([label], i) => ({
      label, stroke: COLORS[i % COLORS.length], width: points ? 0 : 1.5,
      points: { show: true, size: points ? 4 : 5, fill: COLORS[i % COLORS.length] },
    }))],
  }
  return new uPlot(opts, [x, ...series.map(([, y]) => y)], container)
}
