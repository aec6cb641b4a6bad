import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './services.js';

/**
 * Emits every workspace package's sources into its dist/, as its build does (its own
 * tsconfig.build.json, file by file, with the files beside the sources copied), but without
 * the type check, which `pnpm typecheck` does: a second or two, not the build's half minute.
 * The end-to-end tests then start the built CLI (`node apps/cli/dist/main.js`), as users run
 * it: a master started through tsx cost 1.8 s of CPU here, built 1.0 s, and the suite starts
 * a few hundred processes. Runs before every run, so the tests never meet a stale build.
 */
export function buildForTests(root = REPO_ROOT): { files: number; ms: number } {
  const started = performance.now();
  let files = 0;
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const config = join(root, group, name, 'tsconfig.build.json');
      files += emitPackage(config);
    }
  }
  return { files, ms: performance.now() - started };
}

function emitPackage(configFile: string): number {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(`${configFile}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      },
    },
  );
  if (!parsed) throw new Error(`${configFile} could not be read`);
  const { rootDir, outDir } = parsed.options;
  if (!rootDir || !outDir) throw new Error(`${configFile} must set rootDir and outDir`);
  const pkg = JSON.parse(readFileSync(join(dirname(configFile), 'package.json'), 'utf8')) as {
    type?: string;
  };
  // File by file, the compiler cannot see that NodeNext means ES modules here (it would emit CommonJS).
  if (pkg.type !== 'module') throw new Error(`${configFile}: only ES module packages are emitted here`);
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    inlineSourceMap: false,
  };
  for (const file of parsed.fileNames) {
    const out = join(outDir, relative(rootDir, file)).replace(/\.ts$/, '.js');
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true,
    });
    if (diagnostics?.length) {
      const text = ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => REPO_ROOT,
        getNewLine: () => '\n',
      });
      throw new Error(`${file} does not compile:\n${text}`);
    }
    writeIfChanged(out, outputText);
  }
  copyAssets(rootDir, outDir);
  return parsed.fileNames.length;
}

/** What is not TypeScript beside the sources (the store's SQL migrations) goes along, as the build copies it. */
function copyAssets(dir: string, outDir: string, base = dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path, outDir, base);
    else if (!entry.name.endsWith('.ts')) {
      const out = join(outDir, relative(base, path));
      mkdirSync(dirname(out), { recursive: true });
      copyFileSync(path, out);
    }
  }
}

/** Unchanged files keep their mtime, so a watching tool sees only what changed. */
function writeIfChanged(file: string, text: string) {
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}
