/**
 * Locks the public wire contract: the OpenAPI document generated from the route schemas must equal the
 * committed docs/openapi.json. After an intended change: UPDATE_OPENAPI=1 npx vitest run test/api/openapi-snapshot.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Envelope } from '../../src/api/responses.ts';
import { responseSerializer } from '../../src/api/server.ts';
import { startService, type TestService } from '../helpers/harness.ts';

const snapshot = join(import.meta.dirname, '..', '..', 'docs', 'openapi.json');

describe('the wire contract', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ start: false });
    await service.ring.server.ready();
  });
  afterAll(async () => service?.close());

  it('matches the committed OpenAPI document (docs/openapi.json)', () => {
    const current = `${JSON.stringify(service.ring.server.swagger(), null, 2)}\n`;
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(snapshot, current);
    expect(current).toBe(readFileSync(snapshot, 'utf8'));
  });

  it('serves every endpoint bare and under /v3', () => {
    const paths = Object.keys((service.ring.server.swagger() as { paths: Record<string, unknown> }).paths);
    const bare = paths.filter((p) => p.startsWith('/voice') || p.startsWith('/cc'));
    expect(bare.length).toBeGreaterThanOrEqual(17);
    for (const path of bare) expect(paths).toContain(`/v3${path}`);
  });

  it('declares the answer of every operation: each has a 200 response schema', () => {
    const paths = (
      service.ring.server.swagger() as {
        paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      }
    ).paths;
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.responses?.['200']) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('with response checking on (as in every test), an answer that breaks its schema is an error, not a reply', () => {
    const serialize = responseSerializer(true)({
      schema: Envelope(Type.Object({ taskId: Type.Integer() }), 'x'),
      url: '/voice/x',
    });
    const envelope = { status: '0', reason: 'success', code: '0', msg: 'success' };
    expect(serialize({ ...envelope, data: { taskId: 7 } })).toBe(
      JSON.stringify({ ...envelope, data: { taskId: 7 } }),
    );
    expect(() => serialize({ ...envelope, data: { taskId: 'seven' } })).toThrow(
      /does not match its response schema/,
    );
    expect(() => serialize({ ...envelope, data: {} })).toThrow(/taskId/);
    // Without checking (production), the same answer is serialised as it is.
    const plain = responseSerializer(false)({ schema: Envelope(Type.Integer(), 'x'), url: '/voice/x' });
    expect(plain({ ...envelope, data: 'seven' })).toContain('"seven"');
  });
});
