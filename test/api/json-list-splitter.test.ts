/**
 * The send body's byte scanner (src/api/json-list-splitter.ts): wherever the chunks are cut, it hands
 * over what JSON.parse reads from the whole text, and refuses what JSON.parse refuses.
 */
import { describe, expect, it } from 'vitest';
import { JsonListSplitter } from '../../src/api/json-list-splitter.ts';

type Event =
  | { member: string; value: unknown }
  | { list: string }
  | { entry: string; index: number; value: unknown }
  | { root: unknown };

interface Read {
  malformed: boolean;
  events: Event[];
}

const listKeys = new Set(['numberInfoList', 'numberList']);

function read(chunks: Buffer[]): Read {
  const events: Event[] = [];
  const splitter = new JsonListSplitter<string>(listKeys, {
    member: (key, value) => events.push({ member: key, value }),
    listStart: (key) => events.push({ list: key }),
    entries: (key, values, firstIndex) => {
      for (const [k, value] of values.entries()) events.push({ entry: key, index: firstIndex + k, value });
    },
    root: (value) => events.push({ root: value }),
  });
  for (const chunk of chunks) splitter.write(chunk);
  splitter.end();
  return { malformed: splitter.malformed, events };
}

/** What the splitter should hand over for a valid object body, from JSON.parse of the whole text. */
function expected(text: string): Read {
  const events: Event[] = [];
  for (const [key, value] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
    if (listKeys.has(key) && Array.isArray(value)) {
      events.push({ list: key });
      for (const [index, item] of value.entries()) events.push({ entry: key, index, value: item });
    } else events.push({ member: key, value });
  }
  return { malformed: false, events };
}

function everySplit(body: Buffer): Buffer[][] {
  const splits: Buffer[][] = [Array.from(body, (byte) => Buffer.from([byte]))];
  for (let at = 0; at <= body.length; at++) splits.push([body.subarray(0, at), body.subarray(at)]);
  return splits;
}

const sample = JSON.stringify({
  appId: 7,
  taskName: 'caf\u00e9 \u4f60\u597d \ud83d\ude00',
  numberInfoList: [
    { calleeNumber: '8613000000001', text1: 'quote " backslash \\ slash / tab \t', text2: '\u00e9\u20ac' },
    { calleeNumber: 8613000000002, nested: { list: [1, [2, { deep: '}]' }], null] }, flag: true },
    { calleeNumber: '8613000000003', text1: '\ud83d\ude00\ud83d\ude01', n: -1.5e3 },
  ],
  extra: ['not', 'a', 'callee', { numberList: ['inner'] }],
  numberList: ['1', 2, null, '\\u0000'],
  last: null,
});

describe('JsonListSplitter', () => {
  it('hands over what JSON.parse reads, however the body is cut into chunks', () => {
    const body = Buffer.from(sample);
    const want = expected(sample);
    expect(read([body])).toEqual(want);
    for (const chunks of everySplit(body)) expect(read(chunks)).toEqual(want);
  });

  it('decodes escapes (\\" \\\\ \\u00e9, surrogate pairs) and multi-byte UTF-8 cut anywhere', () => {
    const text = '{"numberList":["a\\"b","c\\\\","\\u00e9","\\ud83d\\ude00","é€😀"],"k\\u00e9y":"\\"}"}';
    const body = Buffer.from(text);
    const want = expected(text);
    expect(want.events).toContainEqual({ entry: 'numberList', index: 2, value: 'é' });
    expect(want.events).toContainEqual({ member: 'kéy', value: '"}' });
    for (const chunks of everySplit(body)) expect(read(chunks)).toEqual(want);
  });

  it('recognises a list key written with escapes, and reads each repeat of a list key as a new list', () => {
    const text = '{"number\\u004cist":["1"],"numberList":["2","3"],"numberInfoList":"not an array"}';
    expect(read([Buffer.from(text)]).events).toEqual([
      { list: 'numberList' },
      { entry: 'numberList', index: 0, value: '1' },
      { list: 'numberList' },
      { entry: 'numberList', index: 0, value: '2' },
      { entry: 'numberList', index: 1, value: '3' },
      { member: 'numberInfoList', value: 'not an array' },
    ]);
  });

  it('parses long lists in batches with their indexes in order', () => {
    const list = Array.from({ length: 12_345 }, (_, i) => ({ calleeNumber: String(i), text1: `t${i}` }));
    const text = JSON.stringify({ numberInfoList: list, a: 1 });
    const body = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 777) chunks.push(body.subarray(at, at + 777));
    expect(read(chunks)).toEqual(expected(text));
    expect(read([body])).toEqual(expected(text));
  });

  it('reads empty lists, empty objects, whitespace, a byte order mark, and roots that are not objects', () => {
    for (const text of ['{}', ' { "numberList" : [ ] , "a" : { } } \r\n', '{"numberInfoList":[ {} ]}'])
      expect(read([Buffer.from(text)])).toEqual(expected(text));
    expect(read([Buffer.from('\ufeff{"a":1}')])).toEqual({
      malformed: false,
      events: [{ member: 'a', value: 1 }],
    });
    for (const text of ['[1,{"numberList":[2]}]', '"text"', '12', 'null', ' true '])
      expect(read(everySplit(Buffer.from(text))[0]!)).toEqual({
        malformed: false,
        events: [{ root: JSON.parse(text) }],
      });
  });

  it.each([
    ['missing comma between entries', '{"numberInfoList":[{"calleeNumber":"1"} {"calleeNumber":"2"}]}'],
    ['missing comma between scalars', '{"numberList":["1" "2"]}'],
    ['trailing comma in a list', '{"numberList":["1",]}'],
    ['leading comma in a list', '{"numberList":[,"1"]}'],
    ['two commas', '{"numberList":["1",,"2"]}'],
    ['trailing comma in the object', '{"a":1,}'],
    ['missing colon', '{"a" 1}'],
    ['missing value', '{"a":}'],
    ['unquoted key', '{a:1}'],
    ['unclosed string', '{"numberList":["1'],
    ['unclosed entry', '{"numberInfoList":[{"calleeNumber":"1"'],
    ['unclosed list', '{"numberList":["1"'],
    ['unclosed object', '{"numberList":["1"]'],
    ['mismatched brackets', '{"numberInfoList":[{"a":[1}]}'],
    ['bad entry', '{"numberList":["1",tru,"2"]}'],
    ['bad escape', '{"numberList":["\\x"]}'],
    ['control character in a string', '{"numberList":["a\nb"]}'],
    ['text after the root', '{"a":1} x'],
    ['second root', '{"a":1}{}'],
    ['text after a root that is not an object', '[1] 2'],
    ['a list that ends the object', '{"numberList":["1"}'],
  ])('refuses %s as JSON.parse does', (_name, text) => {
    expect(() => JSON.parse(text)).toThrow();
    for (const chunks of everySplit(Buffer.from(text))) expect(read(chunks).malformed).toBe(true);
  });

  it('hands over the entries before a break, and nothing after it', () => {
    const { malformed, events } = read([Buffer.from('{"a":1,"numberList":["1","2","3" x,"4"],"b":2}')]);
    expect(malformed).toBe(true);
    expect(events).toEqual([
      { member: 'a', value: 1 },
      { list: 'numberList' },
      { entry: 'numberList', index: 0, value: '1' },
      { entry: 'numberList', index: 1, value: '2' },
    ]);
  });
});
