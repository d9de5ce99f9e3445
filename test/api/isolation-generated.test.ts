/**
 * Generated isolation test: for EVERY endpoint in Fastify's route table and EVERY id field of its request
 * schema (body and path), account B sending account A's id gets -24 (does not exist) — or -21 for ids
 * that settings refer to (a voice file, a seat group: spec §1 "voice file not yours") — and A's rows are
 * byte-for-byte what they were. Each attack is paired with a control: the same request with B's own id
 * must not be refused as unknown, so a -24 is about ownership and not a broken request.
 *
 * A new endpoint or id field is covered on its own: the test fails until it is classified below.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRoute } from '../../src/api/server.ts';
import type { Db } from '../../src/db/db.ts';
import { startService, type TestService } from '../helpers/harness.ts';
import { baseBodies, type Ids, type Kind, seedAccount, streamingRoutes } from '../helpers/route-bodies.ts';

/** Field names that hold ids. Anything matching must be classified in `kindOf`. */
const idLike = /^(id|.+Id|.+IdList|account)$/;

/** Ids in settings are references (-21); every other id names the thing acted on or filtered by (-24). */
const referenceFields: ReadonlySet<string> = new Set(['voiceFileId', 'sipGroupId']);

function kindOf(route: string, field: string): Kind | 'not-tenant' | 'cancel-target' | undefined {
  const name = field.replace(/\[\]$/, '').split('.').pop()!;
  if (name === 'smsAppId') return 'not-tenant'; // an operator-configured SMS route, shared by design
  if (name === 'senderId') return 'not-tenant'; // the SMS sender name shown to the callee, not a row
  if (name === 'appId' || name === 'idxAppId') return 'app';
  if (name === 'keyId')
    return route.includes('/recallFlow/') ? 'flow' : route.endsWith('/resend') ? 'finishedTask' : 'task';
  if (name === 'jobIdList' || name === 'taskIdList' || name === 'taskId' || name === 'sourceTaskId')
    return 'task';
  if (name === 'fileIdList' || name === 'voiceFileId' || name === 'fileId') return 'file';
  // A paging cursor: it only says where to continue among the caller's own records.
  if (name === 'afterVoiceId') return 'not-tenant';
  if (name === 'sipGroupId') return 'group';
  if (name === 'voiceId') return 'record';
  if (name === 'account') return 'sip';
  if (name === 'id') return route.endsWith('/recallFlow/cancel') ? 'cancel-target' : 'task';
  return undefined;
}

/**
 * Other fields set beside an id so that the id is used at all, one case per entry: a voiceFileId plays
 * with source=1, and with source=2 when it names an earlier upload (the hole issue 13 found).
 */
const companions: Record<string, Array<Record<string, unknown>>> = {
  voiceFileId: [{ source: 1 }, { source: 2, uploadName: 'earlier.wav' }],
  sipGroupId: [{ toSeat: 1, toSeatType: 1 }],
};

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

/** Paths of id-like fields: 'recallFlow.nodeList[].voiceFileId', 'jobIdList[]'. */
function idFields(schema: JsonSchema | undefined, prefix = ''): string[] {
  if (!schema) return [];
  const found: string[] = [];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (idLike.test(name)) found.push(sub.type === 'array' ? `${path}[]` : path);
    else if (sub.type === 'object') found.push(...idFields(sub, path));
    else if (sub.type === 'array' && sub.items?.type === 'object')
      found.push(...idFields(sub.items, `${path}[]`));
  }
  return found;
}

/** Sets `path` in `body`, creating objects and one-element arrays on the way; companions beside the leaf. */
function setPath(
  body: Record<string, unknown>,
  path: string,
  value: unknown,
  beside: Record<string, unknown>,
): void {
  const parts = path.split('.');
  let at: Record<string, unknown> = body;
  for (const part of parts.slice(0, -1)) {
    const isArray = part.endsWith('[]');
    const key = part.replace(/\[\]$/, '');
    if (isArray) {
      const list = (at[key] as Array<Record<string, unknown>> | undefined) ?? [{}];
      at[key] = list;
      at = list[0]!;
    } else {
      at[key] = (at[key] as Record<string, unknown> | undefined) ?? {};
      at = at[key] as Record<string, unknown>;
    }
  }
  const leaf = parts.at(-1)!;
  const key = leaf.replace(/\[\]$/, '');
  Object.assign(at, beside);
  at[key] = leaf.endsWith('[]') ? [value] : value;
}

/** Every row that belongs to the account, table by table (tables found from the catalogue). */
async function snapshot(db: Db, accountId: number): Promise<string> {
  const tables = await db.query<{ table_name: string; columns: string[] }>(
    `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
     FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name ORDER BY table_name`,
  );
  const out: Record<string, unknown> = {};
  for (const { table_name: table, columns } of tables) {
    let where: string | undefined;
    if (table === 'accounts') where = 'id = $1';
    else if (columns.includes('account_id')) where = 'account_id = $1';
    else if (columns.includes('app_id')) where = 'app_id IN (SELECT id FROM apps WHERE account_id = $1)';
    else if (columns.includes('flow_id'))
      where = 'flow_id IN (SELECT id FROM recall_flows WHERE account_id = $1)';
    else if (columns.includes('call_id')) where = 'call_id IN (SELECT id FROM calls WHERE account_id = $1)';
    else if (columns.includes('task_id')) where = 'task_id IN (SELECT id FROM tasks WHERE account_id = $1)';
    if (!where) continue;
    out[table] = await db.query(`SELECT * FROM ${table} WHERE ${where} ORDER BY 1`, [accountId]);
  }
  return JSON.stringify(out);
}

describe('generated isolation: every endpoint × every id field', () => {
  let service: TestService;
  let a: Awaited<ReturnType<typeof seedAccount>>;
  let b: Awaited<ReturnType<typeof seedAccount>>;
  let routes: readonly ApiRoute[];

  beforeAll(async () => {
    service = await startService({ clockSpeed: 2000 });
    a = await seedAccount(service, 'alpha');
    b = await seedAccount(service, 'bravo');
    // Nothing moves from here on but the requests themselves.
    await service.ring.engine.stopAndDrain();
    routes = service.ring.server.apiRoutes;
  }, 120_000);
  afterAll(async () => service?.close());

  it('finds the endpoints in the route table, bare and under /v3', () => {
    const bare = routes.filter((route) => !route.url.startsWith('/v3/'));
    expect(bare.length).toBeGreaterThanOrEqual(22);
    for (const route of bare)
      expect(routes.some((r) => r.url === `/v3${route.url}` && r.method === route.method)).toBe(true);
  });

  it('answers B using A’s ids with -24 (or -21 for referenced files and seat groups) and changes none of A’s rows', async () => {
    const before = await snapshot(service.db, a.account.accountId);
    const cases: string[] = [];
    const unclassified: string[] = [];
    for (const route of routes) {
      const bare = route.url.replace(/^\/v3(?=\/)/, '');
      const key = `${route.method} ${bare}`;
      const base = baseBodies[key];
      if (!base) {
        unclassified.push(`${key}: no base body in baseBodies`);
        continue;
      }
      const schema = route.schema as { body?: JsonSchema; params?: JsonSchema } | undefined;
      const bodyFields = idFields(schema?.body);
      const paramFields = Object.keys(schema?.params?.properties ?? {});
      for (const field of [
        ...bodyFields.map((f) => ({ f, where: 'body' as const })),
        ...paramFields.map((f) => ({ f, where: 'params' as const })),
      ]) {
        const kind = kindOf(bare, field.f);
        if (kind === undefined) {
          unclassified.push(`${key}: id field ${field.f} is not classified`);
          continue;
        }
        if (kind === 'not-tenant') continue;
        const leaf = field.f.split('.').pop()!.replace(/\[\]$/, '');
        const variants: Array<{
          kind: Kind;
          extra: Record<string, unknown>;
          beside: Record<string, unknown>;
        }> =
          kind === 'cancel-target'
            ? [
                { kind: 'flow', extra: { type: 1 }, beside: {} },
                { kind: 'task', extra: { type: 2 }, beside: {} },
                { kind: 'node', extra: { type: 3 }, beside: {} },
              ]
            : (companions[leaf] ?? [{}]).map((beside) => ({ kind, extra: {}, beside }));
        for (const variant of variants) {
          const request = (ids: Ids) => {
            if (field.where === 'params') {
              return {
                url: route.url.replace(`:${field.f}`, String(ids[variant.kind])),
                body: undefined as Record<string, unknown> | undefined,
              };
            }
            const body = { ...(base(b.ids) ?? {}), ...variant.extra };
            setPath(
              body,
              field.f,
              variant.kind === 'sip' ? ids[variant.kind] : Number(ids[variant.kind]),
              variant.beside,
            );
            return { url: route.url, body };
          };
          const expected = referenceFields.has(leaf) ? '-21' : '-24';
          const label = `${route.method} ${route.url} ${field.f} ${JSON.stringify({ ...variant.extra, ...variant.beside })}`;
          // B's own control requests pause, cancel and re-create B's things; each case starts from B's
          // waiting task and pending flow again, so a state rule (-41) never answers before ownership.
          await service.db.query('UPDATE tasks SET status = 0, finished_at = NULL WHERE id = $1', [
            b.ids.task,
          ]);
          await service.db.query('UPDATE recall_flows SET status = 0 WHERE id = $1', [b.ids.flow]);
          await service.db.query('UPDATE recall_nodes SET status = 0 WHERE flow_id = $1', [b.ids.flow]);
          const [node] = await service.db.query<{ id: number }>(
            'SELECT id FROM recall_nodes WHERE flow_id = $1 ORDER BY round LIMIT 1',
            [b.ids.flow],
          );
          b.ids.node = node!.id;
          const own = request(b.ids);
          const control = await b.call(own.url, own.body, { method: route.method as 'GET' | 'POST' });
          expect(
            ['-21', '-22', '-24', '-1', '-18'],
            `${label} control with B's own id: ${control.reason}`,
          ).not.toContain(control.status);
          const attack = request(a.ids);
          const response = await b.call(attack.url, attack.body, { method: route.method as 'GET' | 'POST' });
          expect(response.status, `${label} with A's id: ${response.reason}`).toBe(expected);
          cases.push(label);
        }
      }
    }
    expect(unclassified).toEqual([]);
    // Bare and /v3, 22+ endpoints: the generator must have produced a real number of cases.
    expect(cases.length).toBeGreaterThanOrEqual(60);
    console.info(`isolation: ${cases.length} (endpoint, id field) cases, all refused`);
    expect(await snapshot(service.db, a.account.accountId)).toBe(before);
  }, 240_000);

  it("never shows B anything of A's in any answer (A's names are marked 'alpha-secret')", async () => {
    for (const route of routes) {
      const bare = route.url.replace(/^\/v3(?=\/)/, '');
      if (streamingRoutes.has(`${route.method} ${bare}`)) continue;
      const base = baseBodies[`${route.method} ${bare}`];
      const url = route.url
        .replace(':id', String(b.ids.task))
        .replace(':voiceId', String(b.ids.record))
        .replace(':fileId', String(b.ids.file));
      const body = base?.(b.ids) ?? (route.method === 'POST' ? { current: 1, size: 100 } : undefined);
      const response = await b.call(url, body, { method: route.method as 'GET' | 'POST' });
      expect(JSON.stringify(response), `${route.method} ${route.url}`).not.toContain('alpha-secret');
    }
  }, 120_000);
});
