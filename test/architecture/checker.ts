/**
 * The import checker of imports.test.ts (not a test file itself): reads `import ... from`,
 * `export ... from`, side-effect `import '...'` and dynamic `import('...')` specifiers (type-only
 * ones included), maps each file to its layer (its folder under src/; src/index.ts is 'index',
 * the other files directly in src/ are 'base'), and reports imports that run up the layer order,
 * cycles between folders, and cycles among the files of chosen folders.
 */
import { posix } from 'node:path';

/** One import specifier of a source file. */
export interface ImportSpec {
  spec: string;
  typeOnly: boolean;
}

// a static import/export at the start of a line; the clause before `from` has no ; ( ) = or
// quotes, so `export const x = ...` or `export function f(` never reach a later `from`
const STATIC = /^[ \t]*(import|export)\s+(type\s+)?([^;()'"=`]*?)\bfrom\s*['"]([^'"]+)['"]/gm;
const SIDE_EFFECT = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The import specifiers of one source text, in order of appearance per kind. */
export function importSpecifiers(source: string): ImportSpec[] {
  const out: ImportSpec[] = [];
  for (const m of source.matchAll(STATIC)) {
    // `import type { A }` and `import { type A, type B }` are type-only; both still count
    const clause = m[3] ?? '';
    const inlineTypes = /^\s*\{([^}]*)\}\s*$/.exec(clause);
    const allInline = inlineTypes !== null && inlineTypes[1]!.split(',').filter((s) => s.trim() !== '').every((s) => /^\s*type\s/.test(s));
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined || allInline });
  }
  for (const m of source.matchAll(SIDE_EFFECT)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of source.matchAll(DYNAMIC)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** The layer of a file given relative to the repository root (e.g. 'src/cli/main.ts' -> 'cli'). */
export function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') throw new Error(`unitOf: ${file} is not under src/`);
  if (parts.length === 2) return parts[1] === 'index.ts' ? 'index' : 'base';
  return parts[1]!;
}

/** The file an import specifier names: './x.js' resolves to x.ts where that exists. */
export function resolveImport(from: string, spec: string, files: ReadonlySet<string>): string {
  const target = posix.normalize(posix.join(posix.dirname(from), spec));
  if (files.has(target)) return target;
  const ts = target.replace(/\.js$/, '.ts');
  if (files.has(ts)) return ts;
  return target;
}

/** A group of nodes that import each other in a circle, and one such circle through its least node. */
export interface Cycle {
  /** the strongly connected component, sorted */
  members: string[];
  /** a shortest cycle from the least member back to it */
  path: string[];
}

/** The import cycles of a graph: each strongly connected component of 2+ nodes, or a self-loop. */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): Cycle[] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sccs: string[][] = [];
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])])].sort();
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) sccs.push(scc);
    }
  };
  for (const v of nodes) if (!idx.has(v)) strong(v);
  // a concrete cycle through each component: breadth-first from its least node back to it
  return sccs.map((scc) => {
    const inScc = new Set(scc);
    const start = [...scc].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    let end: string | undefined;
    while (queue.length > 0 && end === undefined) {
      const v = queue.shift()!;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!inScc.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    return { members: [...scc].sort(), path: [...path, start] };
  });
}

/** What {@link checkImports} found; every list empty means the layering holds. */
export interface ImportReport {
  /** 'file imports spec (layer a imports layer b, which is above it)' */
  upward: string[];
  /** files in a folder that the layer order does not list */
  unknown: string[];
  /** cycles between folders */
  folderCycles: Cycle[];
  /** cycles among the files of the folders in `fileCycleFolders` */
  fileCycles: Cycle[];
}

/**
 * Check every import of `files` (path relative to the repository root -> source text) against
 * `layers` (lowest first). Imports of packages (not starting with '.') are ignored.
 */
export function checkImports(files: ReadonlyMap<string, string>, layers: readonly string[], fileCycleFolders: readonly string[] = []): ImportReport {
  const rank = new Map(layers.map((l, i) => [l, i]));
  const names = new Set(files.keys());
  const report: ImportReport = { upward: [], unknown: [], folderCycles: [], fileCycles: [] };
  const folderGraph = new Map<string, Set<string>>();
  const fileGraph = new Map<string, Set<string>>();
  const unknown = new Set<string>();
  for (const [file, source] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const from = unitOf(file);
    if (!rank.has(from)) unknown.add(`${file} (folder ${from} is not in the layer order)`);
    for (const { spec, typeOnly } of importSpecifiers(source)) {
      if (!spec.startsWith('.')) continue;
      const target = resolveImport(file, spec, names);
      if (!target.startsWith('src/')) continue;
      const to = unitOf(target);
      if (to !== from) {
        if (!folderGraph.has(from)) folderGraph.set(from, new Set());
        folderGraph.get(from)!.add(to);
        const rf = rank.get(from);
        const rt = rank.get(to);
        if (rf !== undefined && rt !== undefined && rt > rf) {
          report.upward.push(`${file} imports${typeOnly ? ' type' : ''} '${spec}' (${from} imports ${to}, which is above it in the layer order)`);
        }
      } else if (fileCycleFolders.includes(from)) {
        if (!fileGraph.has(file)) fileGraph.set(file, new Set());
        fileGraph.get(file)!.add(target);
      }
    }
  }
  report.unknown = [...unknown];
  report.folderCycles = findCycles(folderGraph);
  report.fileCycles = findCycles(fileGraph);
  return report;
}
