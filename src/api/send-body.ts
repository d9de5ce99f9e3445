/**
 * The body of `/voice/group/call/send`, read as a stream: its callees (`numberInfoList`, or the old
 * `numberList`) are cut out of the bytes as they arrive and parsed by the native JSON.parse in batches
 * (json-list-splitter.ts); each entry is then cleaned, checked and reduced to what is stored, so the list
 * is never held as JSON objects. The 200,000 cap is enforced while reading: the entry past it stops the
 * read and the request is answered -23 without the rest of the body ever being read.
 *
 * The answers stay those of the whole-body path: the same cleaning (src/api/clean-body.ts, per entry),
 * the same schema (NumberInfoSchema, Ajv with the server's options) and rule texts, and the same order
 * of errors: NUL/surrogate refusals first, then schema errors in schema property order, then the digits
 * rule and "at least one number" (see `calleesOf`).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { errorCodes, type FastifyRequest } from 'fastify';
import { csvField } from '../db/db.ts';
import { calleeTextColumns } from '../db/queries/callee-info.ts';
import {
  type CalleeColumns,
  calleeTextsCsv,
  emptyCalleeColumns,
  pushCalleeRow,
} from '../db/queries/tasks.ts';
import { CalleeNumberSet } from '../domain/callee-number-set.ts';
import { calleeTexts, checkCalleeNumber, checkNumberCount, maxNumbersPerTask } from '../domain/callees.ts';
import { ApiError, invalid, ResultCode } from '../domain/errors.ts';
import { cleanBody } from './clean-body.ts';
import { JsonListSplitter } from './json-list-splitter.ts';
import { calleeNumber, NumberInfoSchema, SendTaskSchema } from './schemas.ts';
import type { StreamedCallees } from './streamed-callees.ts';
import { type AjvIssue, validationReason } from './validation-reason.ts';

type ListName = 'numberInfoList' | 'numberList';
const listNames: ReadonlySet<string> = new Set<ListName>(['numberInfoList', 'numberList']);

/** One callee list as read: what is stored, or the first problem found in it. */
interface ListRead {
  /** Entries seen, counting duplicates (the cap is on what the client sent). */
  count: number;
  callees: CalleeColumns;
  seen: CalleeNumberSet;
  /** First schema violation, with its full path (as Fastify's validation would have reported it). */
  schemaIssue: AjvIssue | null;
  /** First number that breaks the digits rule (readCallees' error). */
  numberError: ApiError | null;
  /** Where accepted callees go when this list is streamed into the database (then `callees` stays empty). */
  sink: StreamedCallees | null;
}

export interface SendBody {
  /** The body without its callee lists, cleaned: what the route schema validates. */
  rest: unknown;
  lists: Record<ListName, ListRead | null>;
  /** The callees already being COPYed (PostgreSQL, large bodies), whichever list they came from. */
  streamed: StreamedCallees | null;
}

// The server's validator options (src/api/server.ts), so coercion and messages match the route schema.
const ajv = new Ajv({ coerceTypes: true, useDefaults: false, removeAdditional: false, allErrors: false });
const validateInfo: ValidateFunction = ajv.compile(NumberInfoSchema);
// Wrapped in an array so that coercion (a number given for a string) can write the value back.
const validateNumber: ValidateFunction = ajv.compile({ type: 'array', items: calleeNumber });

/** readCallees' count rule (src/domain/callees.ts), checked as entries arrive and once more at the end. */
const countRule = {
  field: 'numberInfoList',
  max: maxNumbersPerTask,
  per: 'task',
  emptyReason: 'is required (at least one number)',
};

function newList(sink: StreamedCallees | null): ListRead {
  return {
    count: 0,
    callees: emptyCalleeColumns(),
    seen: new CalleeNumberSet(),
    schemaIssue: null,
    numberError: null,
    sink,
  };
}

const textIndex = new Map<string, number>(calleeTextColumns.map((column, n) => [column, n]));
// What the long path refuses or rewrites in a text: NUL, and any surrogate (paired ones are fine there,
// but rare enough to leave to it).
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for.
const unusualText = /[\u0000\uD800-\uDFFF]/;
const calleeDigits = /^[0-9]{6,18}$/;
const noTextsCsv = calleeTextsCsv(null).csv;

/**
 * The usual numberInfoList entry in one pass: an object of `calleeNumber` and text1..text10, all plain
 * strings within the schema's lengths, with a number that keeps the digits rule. Null sends the entry the
 * long way (cleanBody, the schema with its coercions, the digits rule), which gives the same result for
 * such an entry and the exact error or rewrite for anything else; the tests run both ways on the same
 * entries.
 */
function plainEntry(value: unknown): { number: string; textsCsv: string; mask: number } | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  let number: string | null = null;
  let mask = 0;
  let fields: string[] | null = null;
  const entry = value as Record<string, unknown>;
  for (const key in entry) {
    const item = entry[key];
    if (key === 'calleeNumber') {
      if (typeof item !== 'string' || item.length > 40) return null;
      number = item.charCodeAt(0) === 0x2b ? item.slice(1) : item;
      if (!calleeDigits.test(number)) return null;
      continue;
    }
    const n = textIndex.get(key);
    if (n === undefined) return null;
    if (item === null || item === '') continue; // "not given", as cleanBody reads it
    if (typeof item !== 'string' || item.length > 1000 || unusualText.test(item)) return null;
    fields ??= noTextsCsv.split(',');
    fields[n] = csvField(item.slice(0, 30));
    mask |= 1 << n;
  }
  if (number === null) return null;
  return { number, textsCsv: fields ? fields.join(',') : noTextsCsv, mask };
}

/** Keeps one accepted callee: streamed into the database, or held for the COPY after the checks. */
function keep(list: ListRead, number: string, textsCsv: string, mask: number): void {
  if (!list.seen.add(number)) return;
  if (list.sink) list.sink.push(number, textsCsv, mask);
  else pushCalleeRow(list.callees, number, textsCsv, mask);
}

/** The list will not be stored: what was kept of it is let go (a streamed one stops going out). */
function refuseList(list: ListRead): void {
  list.callees = emptyCalleeColumns();
  list.sink?.drop();
}

function issueAt(list: ListName, index: number, error: ErrorObject, strip = ''): AjvIssue {
  const inner = strip ? error.instancePath.slice(strip.length) : error.instancePath;
  return { instancePath: `/${list}/${index}${inner}`, message: error.message, params: error.params };
}

/** Takes one entry: cleaned, validated, reduced to a callee (or its first problem recorded). */
function takeEntry(list: ListRead, name: ListName, index: number, raw: unknown): void {
  list.count++;
  if (list.count > maxNumbersPerTask) checkNumberCount(list.count, countRule);
  if (name === 'numberInfoList' && !list.schemaIssue && !list.numberError) {
    const plain = plainEntry(raw);
    if (plain) {
      keep(list, plain.number, plain.textsCsv, plain.mask);
      return;
    }
  }
  const value = cleanBody(raw, `${name}[${index}]`);
  // Once the list is known to be refused, entries are still checked for NUL (that refusal comes first),
  // but nothing more is kept.
  if (list.schemaIssue || list.numberError) return;
  let given: unknown;
  if (name === 'numberInfoList') {
    if (!validateInfo(value)) {
      list.schemaIssue = issueAt(name, index, validateInfo.errors![0]!);
      refuseList(list);
      return;
    }
    given = (value as { calleeNumber: unknown }).calleeNumber;
  } else {
    const holder = [value];
    if (!validateNumber(holder)) {
      list.schemaIssue = issueAt(name, index, validateNumber.errors![0]!, '/0');
      refuseList(list);
      return;
    }
    given = holder[0];
  }
  let number: string;
  try {
    number = checkCalleeNumber(given, index, name);
  } catch (error) {
    list.numberError = error as ApiError;
    refuseList(list);
    return;
  }
  const texts = calleeTextsCsv(
    name === 'numberInfoList' ? calleeTexts(value as Record<string, unknown>) : null,
  );
  keep(list, number, texts.csv, texts.mask);
}

const schemaOrder = Object.keys(SendTaskSchema.properties);

/** Where Fastify's first issue sits in its validation order: `required` and root-type issues come first. */
function rank(issue: AjvIssue): number {
  const first = issue.instancePath.split('/')[1];
  return first === undefined ? -1 : schemaOrder.indexOf(first);
}

/**
 * The callee list of a streamed send body, once Fastify has validated the rest (`validationError`):
 * the error the whole-body path would have answered first, or the callees (readCallees' result).
 */
export function calleesOf(body: SendBody, validationError: unknown): CalleeColumns | StreamedCallees {
  const listIssue = body.lists.numberInfoList?.schemaIssue ?? body.lists.numberList?.schemaIssue ?? null;
  const restIssue = (validationError as { validation?: AjvIssue[] } | undefined)?.validation?.[0];
  if (validationError && (!listIssue || !restIssue || rank(restIssue) < rank(listIssue)))
    throw validationError;
  if (listIssue) throw new ApiError(ResultCode.parameter, validationReason(listIssue));
  const list = body.lists.numberInfoList ?? body.lists.numberList;
  checkNumberCount(list?.count ?? 0, countRule);
  if (!list) return emptyCalleeColumns();
  if (list.numberError) throw list.numberError;
  // A list still holding its sink is the one being COPYed (a refused one threw above).
  return list.sink ?? list.callees;
}

/** The list kept, when it was streamed into the database as it was read (then finish in its transaction). */
export function streamedCalleesOf(body: SendBody): StreamedCallees | null {
  const sink = (body.lists.numberInfoList ?? body.lists.numberList)?.sink ?? null;
  return sink && !sink.isDropped ? sink : null;
}

const readBodies = new WeakMap<FastifyRequest, SendBody>();

/** The body `readSendBody` stored for this request (the JSON parser returns its `rest`). */
export function sendBodyOf(request: FastifyRequest): SendBody | undefined {
  return readBodies.get(request);
}

/**
 * preParsing for the send route: reads the JSON body as a stream within `limit` bytes and keeps the result
 * for the content-type parser; returns an empty stream standing for the consumed body. `verify` gets the
 * raw text for the strong signature scheme (only then is the text kept).
 */
export async function readSendBody(
  request: FastifyRequest,
  payload: Readable | IncomingMessage,
  options: {
    limit: number;
    verify: ((text: string) => Promise<void>) | null;
    /** Opens a streamed COPY for a body of this declared size, when that pays (streamed-callees.ts). */
    stream?: ((declaredBytes: number) => Promise<StreamedCallees | null>) | null;
  },
): Promise<Readable> {
  const contentType = String(request.headers['content-type'] ?? '');
  // Anything but JSON goes on to the usual parser, which refuses it as it always did.
  if (!/^application\/json\s*(;|$)/i.test(contentType)) return payload as Readable;
  const declared = Number(request.headers['content-length']);
  if (declared > options.limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
  // Only an authenticated request's callees may reach the database before the body is checked.
  const sink = options.stream && !options.verify ? await options.stream(declared) : null;
  try {
    return await readInto(request, payload, options, declared, sink);
  } catch (error) {
    await sink?.abort();
    throw error;
  }
}

async function readInto(
  request: FastifyRequest,
  payload: Readable | IncomingMessage,
  options: { limit: number; verify: ((text: string) => Promise<void>) | null },
  declared: number,
  sink: StreamedCallees | null,
): Promise<Readable> {
  const lists: Record<ListName, ListRead | null> = { numberInfoList: null, numberList: null };
  let rest: unknown;
  let restObject: Record<string, unknown> | null = null;
  // The first refusal found while reading. Only the cap stops the read at once; after anything else the
  // body is still read to its end, since invalid JSON anywhere is answered first, as before.
  let refusal: unknown = null;
  let overCap = false;
  let blank = true;
  // Each refusal is caught where it arises, so that later entries are still counted against the cap.
  const refuse = (error: unknown) => {
    if (error instanceof ApiError && error.code === ResultCode.limitReached) {
      overCap = true;
      refusal = error;
    } else refusal ??= error;
  };
  let nonObjectRoot = false;
  let sinkFree = sink !== null;
  const splitter = new JsonListSplitter<ListName>(listNames, {
    member(key, value) {
      if (refusal) return;
      restObject ??= {};
      // A list key whose value is not an array (or a later duplicate that is not): the schema refuses it.
      if (key === 'numberInfoList' || key === 'numberList') lists[key] = null;
      try {
        // Cleaned top-level value by value, in the body's order, as cleanBody walks a whole body.
        Object.assign(restObject, cleanBody({ [key]: value }, ''));
      } catch (error) {
        refuse(error);
      }
    },
    listStart(name) {
      // A later key of the same name starts a new list (last one wins), and replaces any earlier value.
      // The database stream goes to the first list only; whether it is the one kept is seen at the end.
      lists[name] = newList(sinkFree ? sink : null);
      sinkFree = false;
      if (restObject) delete restObject[name];
      else restObject = {};
    },
    entries(name, values, firstIndex) {
      const list = lists[name]!;
      for (let k = 0; k < values.length && !overCap; k++) {
        try {
          takeEntry(list, name, firstIndex + k, values[k]);
        } catch (error) {
          refuse(error);
        }
      }
    },
    root(value) {
      nonObjectRoot = true;
      try {
        rest = cleanBody(value, '');
      } catch (error) {
        refuse(error);
      }
    },
  });

  const decoder = options.verify ? new StringDecoder('utf8') : null;
  const texts: string[] = [];
  const stream = payload as Readable;
  let received = 0;
  let waiting = false;
  await new Promise<void>((resolve, reject) => {
    const stop = (error?: unknown) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onEnd);
      if (error) {
        // Not read any further: the answer goes out with `Connection: close` (server.ts sendEnvelope).
        stream.pause();
        reject(error);
      } else resolve();
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > options.limit) return stop(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      if (decoder) texts.push(decoder.write(bytes));
      if (blank && !/^\s*$/.test(bytes.toString('latin1'))) blank = false;
      if (!blank) splitter.write(bytes);
      if (overCap) return stop(refusal);
      // The COPY's buffer is full: no more of the body is read until the database has taken it.
      if (sink?.mustWait && !waiting) {
        waiting = true;
        stream.pause();
        sink.drained().then(() => {
          waiting = false;
          stream.resume();
        }, stop);
      }
    };
    const onEnd = (error?: unknown) => {
      if (error) return stop(Object.assign(error as Error, { statusCode: 400 }));
      if (!Number.isNaN(declared) && received !== declared)
        return stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      if (!blank) splitter.end();
      stop();
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onEnd);
    stream.resume();
  });
  // As the whole-body parser did: the signature over the raw text first, then its JSON.
  if (options.verify) await options.verify(texts.join('') + decoder!.end());
  if (splitter.malformed) throw invalid('body', 'must be valid JSON');
  if (refusal) throw refusal;
  if (!nonObjectRoot) rest = restObject ?? {};
  const body: SendBody = { rest: blank ? {} : rest, lists, streamed: sink };
  // Streamed into a list that is not the one kept (or refused): let go of it now.
  if (sink && streamedCalleesOf(body) !== sink) await sink.abort();
  readBodies.set(request, body);
  // Stands for the body already read, so Fastify's length check agrees with what arrived.
  return Object.assign(Readable.from([]), { receivedEncodedLength: received });
}
