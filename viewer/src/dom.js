// Element helpers. Text always goes in as text nodes (never innerHTML), so a name such as
// `<img src=x onerror=alert(1)>` stays inert.

/** An element with attributes (strings; `testid` sets data-testid) and children (nodes or text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'testid') el.dataset.testid = value
    else if (key === 'onclick' || key === 'onchange' || key === 'onsubmit' || key === 'oninput') el.addEventListener(key.slice(2), value)
    else if (key === 'class') el.className = value
    else if (key === 'value') el.value = value
    else if (key === 'checked') el.checked = Boolean(value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren()
  append(el, children)
  return el
}

/** A number for a table cell: integers as they are, others to 6 significant digits. */
export function fmt(value) {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)))
  return String(value)
}

/** A table of column-oriented data (at most `max` rows shown). */
export function table(columns, data, { testid, max = 1000 } = {}) {
  const rows = columns.length ? data[columns[0]].length : 0
  const body = []
  for (let i = 0; i < Math.min(rows, max); i++) {
    body.push(h('tr', {}, columns.map((c) => h('td', {}, fmt(data[c][i])))))
  }
  return h('table', { testid, class: 'grid' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c)))),
    h('tbody', {}, body))
}

/** Save bytes or text as a file the browser downloads. */
export function saveAs(blob, filename) {
  const url = URL.createObjectURL(blob)
  const a = h('a', { href: url, download: filename })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

/** Column-oriented data as CSV text. */
export function toCsv(columns, data) {
  const quote = (v) => {
    const s = v === null || v === undefined ? '' : String(v)
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  const rows = columns.length ? data[columns[0]].length : 0
  const lines = [columns.map(quote).join(',')]
  for (let i = 0; i < rows; i++) lines.push(columns.map((c) => quote(data[c][i])).join(','))
  return lines.join('\n') + '\n'
}
