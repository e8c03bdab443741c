#!/usr/bin/env node
// Compresses a release build's front end for serving — `file.gz` (GNU gzip -9) and `file.br`
// (brotli, quality 11) next to each WebAssembly, JavaScript and CSS file; the server sends
// them to browsers that accept them — then reports what the browser downloads, raw and gzip:
// the first load of /calendar (the main WebAssembly, its JavaScript, the split loader and the
// CSS) against its budget, and each lazily loaded part (a route, the editor, a view) with the
// chunks it needs beyond the first load, fetched when first used. Exits 1 when the first load
// is over budget.
//
// Usage: scripts/bundle.mjs [site root]   (default target/site)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const root = process.argv[2] || 'target/site';
const pkg = join(root, 'pkg');
const budget = Number(process.env.CRMCAL_FIRST_LOAD_BUDGET || 358400); // 350 KiB gzip
if (!existsSync(join(pkg, 'crmcal.wasm'))) {
  console.error(`no ${pkg}/crmcal.wasm: build first (make release)`);
  process.exit(1);
}

const files = readdirSync(pkg).filter((f) => /\.(wasm|js|css)$/.test(f));
for (const f of files) {
  const path = join(pkg, f);
  writeFileSync(`${path}.gz`, execFileSync('gzip', ['-9', '-n', '-c', path], { maxBuffer: 1 << 30 }));
  writeFileSync(`${path}.br`, brotliCompressSync(readFileSync(path), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}

const bytes = (file) => readFileSync(join(pkg, file)).length;
const size = (file) => ({ raw: bytes(file), gzip: bytes(`${file}.gz`), br: bytes(`${file}.br`) });
const sum = (sizes) => sizes.reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, br: a.br + b.br }), { raw: 0, gzip: 0, br: 0 });
const row = (name, s) =>
  console.log(`${name.padEnd(40)} ${String(s.raw).padStart(9)} bytes ${String(s.gzip).padStart(9)} gzip ${String(s.br).padStart(9)} brotli`);

const first = ['crmcal.wasm', 'crmcal.js', ...files.filter((f) => f.startsWith('__wasm_split') && f.endsWith('.js')), 'crmcal.css'].filter((f) =>
  files.includes(f),
);
console.log('First load of /calendar:');
for (const f of first) row(f, size(f));
const firstLoad = sum(first.map(size));
row('first load', firstLoad);
const total = firstLoad.gzip;
console.log(`(budget: ${budget} gzip)`);

// The split manifest names, for each lazy entry point, the chunks it needs.
const manifestFile = join(pkg, '__wasm_split_manifest.json');
if (existsSync(manifestFile)) {
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  console.log('Loaded when first used (each with the shared chunks it needs):');
  for (const [entry, chunks] of Object.entries(manifest).sort()) {
    row(entry.replace(/^_+/, '').replace(/_\d+$/, ''), sum(chunks.map((c) => size(`${c}.wasm`))));
  }
}
if (total > budget) {
  console.error(`first load over budget by ${total - budget} bytes gzip`);
  process.exit(1);
}
