/**
 * The do-not-call list (spec §8): `/voice/dnc/add`, `/voice/dnc/del` with up to 200,000 numbers each, stored
 * in one statement, and `/voice/dnc/query` paged, optionally narrowed to numbers starting with
 * `params.number`. Numbers are kept as callees are: digits with country code, a leading '+' dropped. The
 * list is read when each call is about to be dialled (src/db/queries/lease-calls.ts dispatchLeased).
 */
import { Type } from '@sinclair/typebox';
import { addDncNumbers, deleteDncNumbers, queryDncNumbers } from '../db/queries/dnc.ts';
import { checkCalleeNumber, checkNumberCount } from '../domain/callees.ts';
import { formatInZone } from '../domain/time.ts';
import type { ApiApp, ApiContext } from './context.ts';
import { ok } from './envelope.ts';
import { Envelope, PageData } from './responses.ts';
import { calleeNumber, page, withPaging } from './schemas.ts';

export const maxDncNumbersPerRequest = 200_000;

const NumbersBody = Type.Object({
  numbers: Type.Array(calleeNumber, { description: `at most ${maxDncNumbersPerRequest} numbers` }),
});
const QueryBody = withPaging(
  Type.Object({
    number: Type.Optional(
      Type.String({ pattern: '^\\+?[0-9]{1,18}$', description: 'the number, or its first digits' }),
    ),
  }),
);

/** The numbers as stored, each checked like a callee (-22 naming numbers[i]); duplicates kept once. */
function readNumbers(numbers: readonly string[]): string[] {
  checkNumberCount(numbers.length, {
    field: 'numbers',
    max: maxDncNumbersPerRequest,
    per: 'request',
    emptyReason: 'must list at least one number',
  });
  const out = new Set<string>();
  numbers.forEach((value, index) => {
    out.add(checkCalleeNumber(value, index, 'numbers'));
  });
  return [...out];
}

const Changed = (what: string) =>
  Envelope(Type.Object({ [what]: Type.Integer(), total: Type.Integer() }), `how many numbers were ${what}`);
const DncRecord = Type.Object({
  number: Type.String(),
  createdTime: Type.Union([Type.String(), Type.Null()]),
});

export function registerDncRoutes(app: ApiApp, ctx: ApiContext): void {
  const addSchema = { body: NumbersBody, response: { 200: Changed('added') } };
  app.post('/voice/dnc/add', { schema: addSchema }, async (request) => {
    const numbers = readNumbers(request.body.numbers);
    const added = await addDncNumbers(ctx.db, {
      accountId: request.account.id,
      numbers,
      now: ctx.clock.now(),
    });
    return ok({ added, total: numbers.length });
  });

  const delSchema = { body: NumbersBody, response: { 200: Changed('deleted') } };
  app.post('/voice/dnc/del', { schema: delSchema }, async (request) => {
    const numbers = readNumbers(request.body.numbers);
    const deleted = await deleteDncNumbers(ctx.db, { accountId: request.account.id, numbers });
    return ok({ deleted, total: numbers.length });
  });

  const querySchema = {
    body: QueryBody,
    response: PageData(DncRecord, 'a page of the do-not-call list'),
  };
  app.post('/voice/dnc/query', { schema: querySchema }, async (request) => {
    const body = request.body;
    const prefix = body.params?.number?.replace(/^\+/, '') ?? null;
    const { total, rows } = await queryDncNumbers(ctx.db, {
      accountId: request.account.id,
      prefix,
      limit: body.size,
      offset: (body.current - 1) * body.size,
    });
    const zone = request.account.time_zone;
    const records = rows.map((row) => ({
      number: row.number,
      createdTime: formatInZone(row.created_at, zone),
    }));
    return ok(page(records, total, body.current, body.size));
  });
}
