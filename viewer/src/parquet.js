// A zoomed window of the time series, read from the signed parquet URL with HTTP range
// requests: the footer once, then only the row groups whose Time statistics overlap the
// window, and in them only the plotted columns.

import { parquetMetadataAsync, parquetRead } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { decompressPage, readDataPage } from 'hyparquet/src/datapage.js'
import { getMaxDefinitionLevel, getSchemaPath } from 'hyparquet/src/schema.js'
import { ZSTDDecoder } from 'zstddec'
import { ViewerError } from './api.js'

// zstd in WebAssembly (zstddec): about ten times faster than a JavaScript decoder on the
// server's parquet pages, which is most of the cost of a zoom.
const zstd = new ZSTDDecoder()
const ready = zstd.init()
const compressors = { ZSTD: (input, outputLength) => zstd.decode(input, outputLength) }

/** Most rows read through ranges for one window; wider windows are decimated by the server. */
export const MAX_RANGE_ROWS = 600000
/** Decoded row groups kept in memory (262,144 rows each on this server: about 8 MB per group). */
const CACHED_GROUPS = 6

export class RangeFile {
  constructor(url, size) {
    this.url = url
    this.size = size
    this.bytes = 0
    this.requests = 0
    this.meta = null
  }

  buffer() {
    return {
      byteLength: this.size,
      slice: async (start, end) => {
        const last = (end ?? this.size) - 1
        const response = await fetch(this.url, { headers: { Range: `bytes=${start}-${last}` }, credentials: 'omit', cache: 'no-store' })
        if (!response.ok) throw new ViewerError(`Reading the time series failed (HTTP ${response.status}); reload the page for a fresh link.`, { status: response.status })
        const bytes = await response.arrayBuffer()
        this.bytes += bytes.byteLength
        this.requests += 1
        return bytes
      },
    }
  }

  async metadata() {
    if (!this.meta) this.meta = await parquetMetadataAsync(this.buffer(), { initialFetchSize: 1 << 16 })
    return this.meta
  }

  /** The row groups overlapping [t0, t1] as [{index, start, rows}], or null without Time statistics. */
  async groupsFor(timeColumn, t0, t1) {
    const meta = await this.metadata()
    const groups = []
    let offset = 0
    for (const [index, group] of meta.row_groups.entries()) {
      const rows = Number(group.num_rows)
      const chunk = group.columns.find((c) => c.meta_data?.path_in_schema[0] === timeColumn)
      const stats = chunk?.meta_data?.statistics
      const lo = Number(stats?.min_value ?? stats?.min)
      const hi = Number(stats?.max_value ?? stats?.max)
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null
      if (hi >= t0 && lo <= t1) groups.push({ index, start: offset, rows })
      offset += rows
    }
    return groups
  }

  /** `columns` of the given row groups, concatenated in file order; decoded groups are kept
   * (the last CACHED_GROUPS), so panning back and forth reads nothing twice. */
  async read(columns, groups) {
    this.cache ??= new Map()
    const key = columns.join('\u0000')
    const pending = groups.map((g) => {
      const id = `${key}#${g.index}`
      // The promise is cached, so a read already under way is shared, never repeated.
      const part = this.cache.get(id) ?? this.readGroup(columns, g)
      this.cache.delete(id)
      this.cache.set(id, part) // most recently used last
      part.catch(() => this.cache.delete(id))
      return part
    })
    const parts = await Promise.all(pending)
    while (this.cache.size > CACHED_GROUPS) this.cache.delete(this.cache.keys().next().value)
    const out = {}
    for (const column of columns) {
      const total = parts.reduce((n, p) => n + p[column].length, 0)
      const values = new Float64Array(total)
      let at = 0
      for (const part of parts) { values.set(part[column], at); at += part[column].length }
      out[column] = values
    }
    return out
  }

  /** One row group's columns: flat DOUBLE columns without dictionaries (what the server writes)
   * decoded page by page straight into Float64Arrays from one range request; anything else
   * through hyparquet's general reader. */
  async readGroup(columns, group) {
    await ready
    const metadata = await this.metadata()
    const chunks = metadata.row_groups[group.index].columns.filter((c) => columns.includes(c.meta_data?.path_in_schema[0]))
    const fast = chunks.length === columns.length && chunks.every((c) => plainDoubles(metadata, c.meta_data))
    if (!fast) return this.readRows(columns, group.start, group.start + group.rows)
    const spans = chunks.map((c) => {
      const first = Number(c.meta_data.dictionary_page_offset || c.meta_data.data_page_offset)
      return [first, first + Number(c.meta_data.total_compressed_size)]
    })
    const from = Math.min(...spans.map(([a]) => a))
    const to = Math.max(...spans.map(([, b]) => b))
    const bytes = await this.buffer().slice(from, to)
    const out = {}
    for (const [i, chunk] of chunks.entries()) {
      const [a, b] = spans[i]
      out[chunk.meta_data.path_in_schema[0]] = decodeDoubles(bytes, a - from, b - from, metadata, chunk.meta_data, group.rows)
    }
    return out
  }

  async readRows(columns, start, end) {
    await ready
    const metadata = await this.metadata()
    const chunks = Object.fromEntries(columns.map((c) => [c, []]))
    await parquetRead({
      file: this.buffer(), metadata, columns, rowStart: start, rowEnd: end, compressors,
      onChunk: ({ columnName, columnData, rowStart }) => chunks[columnName]?.push({ rowStart, columnData }),
    })
    const out = {}
    for (const column of columns) {
      const parts = chunks[column].sort((a, b) => a.rowStart - b.rowStart)
      const values = new Float64Array(end - start)
      for (const { rowStart, columnData } of parts) {
        if (columnData instanceof Float64Array && rowStart >= start && rowStart + columnData.length <= end) {
          values.set(columnData, rowStart - start)
          continue
        }
        for (let i = 0; i < columnData.length; i++) {
          const row = rowStart + i - start
          if (row < 0 || row >= values.length) continue
          const v = columnData[i]
          values[row] = v === null || v === undefined ? NaN : Number(v)
        }
      }
      out[column] = values
    }
    return out
  }
}

function plainDoubles(metadata, meta) {
  const path = getSchemaPath(metadata.schema, meta.path_in_schema)
  const element = path[path.length - 1].element
  return element.type === 'DOUBLE' && path.length === 2 && getMaxDefinitionLevel(path) <= 1 &&
    !meta.encodings.some((e) => e.includes('DICTIONARY')) && ['ZSTD', 'SNAPPY', 'UNCOMPRESSED'].includes(meta.codec)
}

/** The values of one flat DOUBLE column chunk (bytes [from, to) of `buffer`), nulls as NaN. */
function decodeDoubles(buffer, from, to, metadata, meta, rows) {
  const schemaPath = getSchemaPath(metadata.schema, meta.path_in_schema)
  const decoder = { type: 'DOUBLE', element: schemaPath[schemaPath.length - 1].element, schemaPath }
  const view = new DataView(buffer, from, to - from)
  const reader = { view, offset: 0 }
  const out = new Float64Array(rows)
  let at = 0
  while (at < rows && reader.offset < view.byteLength) {
    const header = parquetHeader(reader)
    const compressed = new Uint8Array(buffer, from + reader.offset, header.compressed_page_size)
    reader.offset += header.compressed_page_size
    if (header.type !== 'DATA_PAGE') throw new ViewerError(`Unexpected ${header.type} in column ${meta.path_in_schema[0]}`)
    const daph = header.data_page_header
    const page = decompressPage(compressed, Number(header.uncompressed_page_size), meta.codec, compressors)
    const n = Math.min(daph.num_values, rows - at)
    const dense = denseDoubles(page, daph)
    if (dense) {
      out.set(dense.subarray(0, n), at)
    } else {
      const { definitionLevels, dataPage } = readDataPage(page, daph, decoder)
      if (!definitionLevels.length) out.set(dataPage.subarray(0, n), at)
      else for (let i = 0, j = 0; i < n; i++) out[at + i] = definitionLevels[i] ? dataPage[j++] : NaN
    }
    at += n
  }
  return out
}

/** The doubles of a PLAIN page whose definition levels are one run of "present" (no nulls:
 * the usual case), without decoding the levels value by value; null when it is not such a page. */
function denseDoubles(page, daph) {
  if (daph.encoding !== 'PLAIN' || daph.definition_level_encoding !== 'RLE' || page.byteLength < 6) return null
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
  const levelBytes = view.getUint32(0, true)
  let header = 0
  let shift = 0
  let at = 4
  for (;;) { // the run header: a ULEB128 varint, (run length << 1) for an RLE run
    const byte = view.getUint8(at++)
    header += (byte & 0x7f) * 2 ** shift
    shift += 7
    if (!(byte & 0x80) || at >= 4 + levelBytes) break
  }
  if (header !== daph.num_values * 2 || at + 1 !== 4 + levelBytes || view.getUint8(at) !== 1) return null
  const start = page.byteOffset + 4 + levelBytes
  if (page.byteLength - 4 - levelBytes < daph.num_values * 8) return null
  return new Float64Array(page.buffer.slice(start, start + daph.num_values * 8))
}

/** (time, values) reduced to at most `points` points keeping each bucket's min and max, in order
 * (as ionworks.plotting.decimate_minmax), over the rows with t0 <= time <= t1. */
export function decimate(time, values, t0, t1, points) {
  let lo = 0
  let hi = time.length
  while (lo < hi && !(time[lo] >= t0)) lo++
  while (hi > lo && !(time[hi - 1] <= t1)) hi--
  const n = hi - lo
  const buckets = Math.max(1, Math.floor(points / 2))
  const size = Math.max(1, Math.ceil(n / buckets))
  const xs = []
  const ys = []
  for (let b = lo; b < hi; b += size) {
    const stop = Math.min(hi, b + size)
    let iMin = -1
    let iMax = -1
    for (let i = b; i < stop; i++) {
      const v = values[i]
      if (Number.isNaN(v)) continue
      if (iMin < 0 || v < values[iMin]) iMin = i
      if (iMax < 0 || v > values[iMax]) iMax = i
    }
    if (iMin < 0) continue
    const first = Math.min(iMin, iMax)
    const second = Math.max(iMin, iMax)
    xs.push(time[first]); ys.push(values[first])
    if (second !== first) { xs.push(time[second]); ys.push(values[second]) }
  }
  return [Float64Array.from(xs), Float64Array.from(ys)]
}
