/**
 * Serves the operator console (web/) at /console. Its TypeScript is bundled with esbuild the first time
 * an asset is asked for and kept in memory, so `npm install` then `npm start` (or `npm test`) serve a
 * working console with no separate build step and nothing fetched from outside (docs/console.md).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';

const webDir = join(import.meta.dirname, '..', '..', 'web');

const entries = {
  app: join(webDir, 'src', 'main.tsx'),
  'import-worker': join(webDir, 'src', 'import-worker.ts'),
};

/** The bundled assets by file name ('app.js', 'import-worker.js'). */
export async function bundleConsole(): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    write: false,
    outdir: '/',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return new Map(result.outputFiles.map((file) => [file.path.slice(1), file.text]));
}

let bundled: Promise<Map<string, string>> | undefined;

export function registerConsoleRoutes(app: FastifyInstance): void {
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return readFile(join(webDir, 'index.html'), 'utf8');
  });
  app.get('/console/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console'));
  const Params = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const;
  app.get('/console/assets/:name', { schema: { hide: true, params: Params } }, async (request, reply) => {
    bundled ??= bundleConsole();
    bundled.catch(() => {
      bundled = undefined;
    });
    const assets = await bundled;
    const asset = assets.get((request.params as { name: string }).name);
    if (asset === undefined) return reply.code(404).type('text/plain').send('no such console asset');
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache');
    return asset;
  });
}
