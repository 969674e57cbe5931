// Build the viewer into ionworks_server/viewer_static/ (what `ionworks serve` sends at /viewer/):
// one bundled app.js (esbuild), one app.css (uPlot's stylesheet + ours), index.html, and the
// licences of the bundled packages.
import { build } from 'esbuild'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'ionworks_server', 'viewer_static')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  legalComments: 'eof',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
})
const css = [join(here, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(here, 'src', 'style.css')]
writeFileSync(join(out, 'app.css'), css.map((f) => readFileSync(f, 'utf8')).join('\n'))
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'))
const licences = ['uplot', 'hyparquet', 'zstddec'].map((name) => {
  const pkg = JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'))
  let text = ''
  for (const file of ['LICENSE', 'LICENSE.md', 'LICENSE.txt']) {
    try { text = readFileSync(join(here, 'node_modules', name, file), 'utf8'); break } catch { /* next */ }
  }
  return `${name} ${pkg.version} (${pkg.license})\n\n${text}`
})
writeFileSync(join(out, 'THIRD_PARTY_LICENSES.txt'), licences.join('\n\n----\n\n'))
console.log(`viewer built into ${out}`)
