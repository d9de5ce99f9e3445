/**
 * Locks the public wire contract: the OpenAPI document generated from the route schemas must equal the
 * committed docs/openapi.json. After an intended change: UPDATE_OPENAPI=1 npx vitest run test/api/openapi-snapshot.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
