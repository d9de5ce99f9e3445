/**
 * The folders of src/ are the architecture (README "Architecture"): this reads every relative import and
 * fails on a new dependency that breaks it — domain importing any other folder, or a cycle between folders.
 * Files at the top of src/ (app.ts, cli.ts, config.ts, clock.ts, demo.ts) are nodes of their own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const srcRoot = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `domain`, `db`, … for files in a folder; `app`, `clock`, … for files at the top of src/. */
function nodeOf(path: string): string {
  const [first = ''] = relative(srcRoot, path).split('/');
  return first.replace(/\.ts$/, '');
}

interface Edge {
  from: string;
  to: string;
  file: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  const specifiers =
    /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.[^'"]+)['"]|\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const file of sourceFiles(srcRoot)) {
    for (const match of readFileSync(file, 'utf8').matchAll(specifiers)) {
      const target = resolve(dirname(file), (match[1] ?? match[2])!);
      if (!target.startsWith(srcRoot)) continue;
      const from = nodeOf(file);
      const to = nodeOf(target);
      if (from !== to) edges.push({ from, to, file: relative(srcRoot, file) });
    }
  }
  return edges;
}

/** Every cycle of the folder graph, each as a path `a → b → … → a` (found by depth-first search). */
function folderCycles(edges: readonly Edge[]): string[] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) next.set(from, (next.get(from) ?? new Set()).add(to));
  const cycles = new Set<string>();
  const visit = (node: string, path: string[]) => {
    for (const to of next.get(node) ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) {
        const cycle = path.slice(at);
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.add([...rotated, rotated[0]].join(' → '));
      } else visit(to, [...path, to]);
    }
  };
  for (const node of next.keys()) visit(node, [node]);
  return [...cycles].sort();
}

describe('import graph of src/', () => {
  const edges = importEdges();

  it('finds the imports it checks (the reader is not blind)', () => {
    expect(edges.some((edge) => edge.from === 'api' && edge.to === 'db')).toBe(true);
    expect(edges.some((edge) => edge.from === 'engine' && edge.to === 'domain')).toBe(true);
  });

  it('domain imports nothing from another folder (pure logic, no I/O)', () => {
    expect(edges.filter((edge) => edge.from === 'domain').map((edge) => `${edge.file} → ${edge.to}`)).toEqual(
      [],
    );
  });

  it('has no cycle between folders', () => {
    expect(folderCycles(edges)).toEqual([]);
  });

  it('detects a cycle when there is one', () => {
    const made = [
      { from: 'engine', to: 'sms', file: 'x' },
      { from: 'sms', to: 'engine', file: 'y' },
    ];
    expect(folderCycles(made)).toEqual(['engine → sms → engine']);
  });

  it('keeps SQL in src/db: no query call elsewhere', () => {
    const outside = sourceFiles(srcRoot)
      .filter((file) => !relative(srcRoot, file).startsWith('db/'))
      .filter((file) => /\.query\s*(<|\()/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(srcRoot, file));
    expect(outside).toEqual([]);
  });
});
