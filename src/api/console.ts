/**
 * Serves the read-only web console (web/) at /console. Its script is TypeScript, compiled once with
 * esbuild on first request, so the console needs no build step before `npm start`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { transform } from 'esbuild';
import type { FastifyInstance } from 'fastify';

const webDir = join(import.meta.dirname, '..', '..', 'web');

export function registerConsoleRoutes(app: FastifyInstance): void {
  let script: Promise<string> | undefined;
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/html; charset=utf-8');
    return readFile(join(webDir, 'index.html'), 'utf8');
  });
  app.get('/console/console.js', { schema: { hide: true } }, async (_request, reply) => {
    script ??= readFile(join(webDir, 'console.ts'), 'utf8')
      .then((source) => transform(source, { loader: 'ts', format: 'esm', target: 'es2022' }))
      .then((result) => result.code);
    reply.type('text/javascript; charset=utf-8');
    return script;
  });
}
