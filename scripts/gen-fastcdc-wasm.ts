/**
 * Compiles packages/core/src/fastcdc.wat into fastcdc-wasm-bytes.ts (the module's bytes, in
 * base64), with wabt. Run after editing the .wat: `pnpm gen:fastcdc-wasm`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const dir = fileURLToPath(new URL('../packages/core/src/', import.meta.url));
const wabt = await wabtInit();
const bytes = wabt.parseWat('fastcdc.wat', readFileSync(`${dir}fastcdc.wat`, 'utf8')).toBinary({}).buffer;
writeFileSync(
  `${dir}fastcdc-wasm-bytes.ts`,
  '// Generated from fastcdc.wat by scripts/gen-fastcdc-wasm.ts: edit the .wat, then run `pnpm gen:fastcdc-wasm`.\n' +
    `export const FASTCDC_WASM_BASE64 =\n  '${Buffer.from(bytes).toString('base64')}';\n`,
);
console.log(`fastcdc-wasm-bytes.ts: ${bytes.length} bytes of WebAssembly`);
