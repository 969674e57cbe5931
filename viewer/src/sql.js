// The SQL box: a read-only query over time_series, steps and cycles, run by the server
// (POST /cell_measurements/{id}/sql); results as a table and, with two numeric columns, a plot.

import { api } from './api.js'
import { report } from './errors.js'
import { fill, h, table } from './dom.js'
import { xyPlot } from './plots.js'

const EXAMPLE = 'select "Cycle count", "Discharge capacity [A.h]" from cycles order by "Cycle count"'

export function sqlBox(id) {
  const input = h('textarea', { testid: 'sql-input', rows: 4, spellcheck: 'false' })
  input.value = EXAMPLE
  const limit = h('input', { type: 'number', min: 1, max: 10000, value: '1000', class: 'narrow' })
  const result = h('div', { testid: 'sql-result' })
  const run = async () => {
    fill(result, h('p', { class: 'muted' }, 'Running…'))
    try {
      const out = await api(`/cell_measurements/${encodeURIComponent(id)}/sql`, { method: 'POST', body: { query: input.value, limit: Number(limit.value) || 1000 } })
      const numeric = out.columns.filter((c) => out.data[c].every((v) => v === null || typeof v === 'number'))
      const plotBox = h('div', { class: 'card' })
      fill(result,
        h('p', { class: 'muted' }, `${out.row_count} row${out.row_count === 1 ? '' : 's'}${out.truncated ? ' (truncated at the limit)' : ''} in ${out.elapsed_ms} ms`),
        numeric.length >= 2 ? plotBox : null,
        table(out.columns, out.data, { testid: 'sql-table' }))
      result.dataset.rows = String(out.row_count)
      if (numeric.length >= 2) {
        const [xc, yc] = numeric
        const order = [...out.data[xc].keys()].filter((i) => out.data[xc][i] !== null).sort((a, b) => out.data[xc][a] - out.data[xc][b])
        xyPlot(plotBox, order.map((i) => out.data[xc][i]), [[yc, order.map((i) => out.data[yc][i])]], { xLabel: xc, points: true })
      }
    } catch (err) {
      fill(result, h('p', { class: 'error' }, 'The query failed: see the message above.'))
      report(err)
    }
  }
  return h('div', { class: 'sql' },
    h('p', { class: 'muted' }, 'Tables: time_series, steps, cycles (polars SQL, read-only; quote names with spaces in double quotes).'),
    input,
    h('div', {}, h('button', { type: 'button', testid: 'sql-run', onclick: run }, 'Run'), ' Row limit ', limit),
    result)
}
