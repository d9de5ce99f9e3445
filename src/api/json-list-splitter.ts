/**
 * Reads a JSON object fed as Buffer chunks and hands over, in body order, its top-level members and the
 * entries of the arrays under chosen top-level keys (the send route's callee lists), each parsed by the
 * native JSON.parse: a list's entries in batches of consecutive elements (one JSON.parse per batch), the
 * other members one by one. Only the array under a list key is never held whole.
 *
 * Hand-written because no npm library does this: the streaming JSON parsers (@streamparser/json,
 * stream-json, ...) tokenize and build every value in JavaScript, several times slower than JSON.parse,
 * and none splits a streamed array into element texts to parse in batches. The scan works on bytes: JSON's
 * structural characters are ASCII and bytes >= 0x80 only occur inside strings, so a UTF-8 character split
 * across chunks needs no care; a text is decoded only once whole.
 *
 * Validity: every text handed to JSON.parse is checked by it; the scanner checks the structure around
 * them (the root object's keys, colons and commas, a list's commas, matching brackets, nothing after
 * the root). Any break marks the body malformed and stops the reading; entries before it have already
 * been handed over, in order, as a token-level parser would have.
 */

/** What the splitter hands over; calls must not throw (the splitter's state would be left mid-chunk). */
export interface JsonListHandlers<K extends string> {
  /** A top-level member of the root object, in body order (a list key whose value is not an array too). */
  member(key: string, value: unknown): void;
  /** A list key with an array value begins; each occurrence of the key begins a new list. */
  listStart(key: K): void;
  /** Consecutive entries of the current list; `firstIndex` is the first one's index in its array. */
  entries(key: K, values: unknown[], firstIndex: number): void;
  /** The root, when it is not an object. */
  root(value: unknown): void;
}

// Where the scan is in the body's structure.
const rootStart = 0; // before the root (an optional UTF-8 BOM, whitespace)
const otherRoot = 1; // the root is not an object: kept whole, parsed at the end
const objectOpen = 2; // after `{`: a key or `}`
const nextKey = 3; // after a member's `,`: a key
const inKey = 4;
const colon = 5;
const valueStart = 6;
const inValue = 7; // a member's value (not a list)
const elementStart = 8; // in a list, before an element (or `]` when the list is empty)
const inElement = 9;
const afterList = 10; // `,` or `}`
const rootDone = 11;

const utf8Bom = [0xef, 0xbb, 0xbf];
const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** The largest number of elements parsed by one JSON.parse (a chunk's end also closes a batch). */
const batchSize = 2_000;

export class JsonListSplitter<K extends string> {
  /** True once the body is known not to be valid JSON; nothing more is handed over. */
  malformed = false;

  private state = rootStart;
  private bomRead = 0;
  /** Closing bracket expected for each level open inside the current value or element. */
  private readonly closers: number[] = [];
  private inString = false;
  /** Bytes of an escape still to skip when a chunk ended inside it. */
  private escapeLeft = 0;
  /** The current value or element is complete (a closed string, array or object): only `,` may follow. */
  private valueClosed = false;

  /** The text being captured (key, member value, list run, other root), as copied from earlier chunks. */
  private carry: Buffer[] = [];
  private carryLength = 0;
  /** Where the capture starts in the current chunk (0 when it began in an earlier one), or -1. */
  private captureFrom = -1;

  private key = '';
  private listKey: K | null = null;
  /** Elements of the current list handed over so far. */
  private listIndex = 0;
  /** Completed elements not yet parsed: their [start, end) offsets in the captured run, pairwise. */
  private readonly bounds: number[] = [];
  /** Where the current element starts in the captured run. */
  private elementFrom = 0;
  private afterComma = false;

  constructor(
    private readonly listKeys: ReadonlySet<string>,
    private readonly handlers: JsonListHandlers<K>,
  ) {}

  write(chunk: Buffer): void {
    if (this.malformed) return;
    const n = chunk.length;
    let i = 0;
    if (this.captureFrom === -1 && this.carryLength > 0) this.captureFrom = 0;
    while (i < n) {
      if (this.inString) {
        // Strings are skipped byte by byte: the texts are short, and a loop beats a native call per string.
        if (this.escapeLeft > 0) {
          i += this.escapeLeft;
          this.escapeLeft = 0;
          if (i > n) {
            this.escapeLeft = i - n;
            break;
          }
          continue;
        }
        while (i < n) {
          const byte = chunk[i]!;
          if (byte === quote) break;
          if (byte === backslash) {
            i += 2;
            if (i > n) this.escapeLeft = i - n;
          } else i++;
        }
        if (i >= n) break;
        this.inString = false;
        i++;
        if (this.state === inKey) {
          if (!this.endKey(chunk, i)) return;
        } else if (this.closers.length === 0) this.valueClosed = true;
        continue;
      }
      const byte = chunk[i]!;
      switch (this.state) {
        case inElement:
        case inValue:
          if (this.closers.length > 0) {
            // Inside an entry: one tight loop to where it closes (the hot path, so strings are skipped here too).
            const closers = this.closers;
            while (i < n) {
              const next = chunk[i]!;
              if (next === quote) {
                i++;
                while (i < n) {
                  const inner = chunk[i]!;
                  if (inner === quote) break;
                  i += inner === backslash ? 2 : 1;
                }
                if (i >= n) {
                  this.inString = true;
                  this.escapeLeft = i - n;
                  i = n;
                  break;
                }
              } else if (next === 0x7b) closers.push(0x7d);
              else if (next === 0x5b) closers.push(0x5d);
              else if (next === 0x7d || next === 0x5d) {
                if (closers.pop() !== next) {
                  this.fail(chunk);
                  return;
                }
                if (closers.length === 0) {
                  this.valueClosed = true;
                  i++;
                  break;
                }
              }
              i++;
            }
            continue;
          }
          if (this.state === inElement) {
            if (byte === comma || byte === 0x5d) {
              this.bounds.push(this.elementFrom, this.runOffset(i));
              if (byte === comma) {
                this.state = elementStart;
                this.afterComma = true;
                if (this.bounds.length >= batchSize * 2 && !this.flushEntries(chunk)) return;
              } else {
                this.state = afterList;
                if (!this.flushEntries(chunk)) return;
                this.listKey = null;
              }
              i++;
              continue;
            }
          } else if (byte === comma || byte === 0x7d) {
            if (!this.endMember(chunk, i)) return;
            this.state = byte === comma ? nextKey : rootDone;
            i++;
            continue;
          }
          if (isSpace(byte)) {
            i++;
            continue;
          }
          // A second value where one ended (a missing comma) is refused here, before its entry is read.
          if (this.valueClosed) {
            this.fail(chunk);
            return;
          }
          if (byte === quote) this.inString = true;
          else if (byte === 0x7b) this.closers.push(0x7d);
          else if (byte === 0x5b) this.closers.push(0x5d);
          else if (byte === 0x7d || byte === 0x5d || byte === 0x3a) {
            this.fail(chunk);
            return;
          }
          i++;
          continue;
        case elementStart:
          if (isSpace(byte)) break;
          if (byte === 0x5d && !this.afterComma) {
            this.listKey = null;
            this.state = afterList;
            break;
          }
          if (byte === comma || byte === 0x5d) {
            this.fail(chunk);
            return;
          }
          if (this.captureFrom === -1) this.captureFrom = i;
          this.elementFrom = this.runOffset(i);
          this.valueClosed = false;
          this.state = inElement;
          continue;
        case afterList:
          if (isSpace(byte)) break;
          if (byte === comma) this.state = nextKey;
          else if (byte === 0x7d) this.state = rootDone;
          else {
            this.fail(chunk);
            return;
          }
          break;
        case objectOpen:
        case nextKey:
          if (isSpace(byte)) break;
          if (byte === 0x7d && this.state === objectOpen) this.state = rootDone;
          else if (byte === quote) {
            this.captureFrom = i;
            this.inString = true;
            this.state = inKey;
          } else {
            this.fail(chunk);
            return;
          }
          break;
        case colon:
          if (isSpace(byte)) break;
          if (byte !== 0x3a) {
            this.fail(chunk);
            return;
          }
          this.state = valueStart;
          break;
        case valueStart:
          if (isSpace(byte)) break;
          if (byte === 0x5b && this.listKeys.has(this.key)) {
            this.listKey = this.key as K;
            this.listIndex = 0;
            this.afterComma = false;
            this.handlers.listStart(this.listKey);
            this.state = elementStart;
            break;
          }
          this.captureFrom = i;
          this.valueClosed = false;
          this.state = inValue;
          continue;
        case rootStart:
          // A UTF-8 byte order mark is allowed before the root, as the streaming parser allowed it.
          if (this.bomRead < 3 && byte === utf8Bom[this.bomRead]) {
            this.bomRead++;
            break;
          }
          if (this.bomRead > 0 && this.bomRead < 3) {
            this.fail(chunk);
            return;
          }
          this.bomRead = 3;
          if (isSpace(byte)) break;
          if (byte === 0x7b) {
            this.state = objectOpen;
            break;
          }
          this.captureFrom = i;
          this.state = otherRoot;
          i = n;
          continue;
        case otherRoot:
          i = n;
          continue;
        default:
          // rootDone: only whitespace may follow the root.
          if (!isSpace(byte)) {
            this.fail(chunk);
            return;
          }
      }
      i++;
    }
    if (this.listKey !== null && !this.flushEntries(chunk)) return;
    if (this.captureFrom !== -1) {
      const kept = Buffer.from(chunk.subarray(this.captureFrom));
      this.carry.push(kept);
      this.carryLength += kept.length;
      this.captureFrom = -1;
    }
  }

  /** The body has ended: it must have closed its root. */
  end(): void {
    if (this.malformed) return;
    if (this.state === otherRoot) {
      const value = this.parse(this.takeCapture(null, 0));
      if (!this.malformed) this.handlers.root(value);
    } else if (this.state !== rootDone) this.malformed = true;
  }

  /** Marks the body malformed at a byte of `chunk`, after handing over the entries complete before it. */
  private fail(chunk: Buffer): void {
    if (this.listKey !== null) {
      this.state = elementStart;
      this.flushEntries(chunk);
    }
    this.malformed = true;
    this.carry = [];
    this.carryLength = 0;
  }

  private parse(bytes: Buffer): unknown {
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      this.malformed = true;
      return undefined;
    }
  }

  /** Offset of chunk position `at` in the captured run. */
  private runOffset(at: number): number {
    return this.carryLength + at - this.captureFrom;
  }

  /** The captured bytes up to chunk position `end`; the capture is then over. */
  private takeCapture(chunk: Buffer | null, end: number): Buffer {
    let bytes: Buffer;
    if (this.carry.length === 0) bytes = chunk!.subarray(this.captureFrom, end);
    else {
      if (chunk && this.captureFrom !== -1) this.carry.push(chunk.subarray(this.captureFrom, end));
      bytes = this.carry.length === 1 ? this.carry[0]! : Buffer.concat(this.carry);
    }
    this.carry = [];
    this.carryLength = 0;
    this.captureFrom = -1;
    return bytes;
  }

  private endKey(chunk: Buffer, end: number): boolean {
    const key = this.parse(this.takeCapture(chunk, end));
    if (this.malformed) return false;
    this.key = key as string;
    this.state = colon;
    return true;
  }

  private endMember(chunk: Buffer, end: number): boolean {
    const value = this.parse(this.takeCapture(chunk, end));
    if (this.malformed) return false;
    this.handlers.member(this.key, value);
    return true;
  }

  /**
   * Parses the completed elements of the current list (the captured run starts at the first of them)
   * and hands them over; an element still open stays captured. False when one is not valid JSON.
   */
  private flushEntries(chunk: Buffer): boolean {
    const count = this.bounds.length / 2;
    if (count === 0) return true;
    const runEnd = this.bounds[this.bounds.length - 1]!;
    const endInChunk = runEnd - this.carryLength + this.captureFrom;
    const openFrom = this.state === inElement ? this.elementFrom - runEnd + endInChunk : -1;
    const bytes = this.takeCapture(chunk, endInChunk);
    const key = this.listKey!;
    const first = this.listIndex;
    this.listIndex += count;
    let values: unknown[] | null;
    try {
      values = JSON.parse(`[${bytes.toString('utf8')}]`) as unknown[];
    } catch {
      values = null;
    }
    if (values === null || values.length !== count) {
      // Some element is not valid JSON: those before it are handed over, as they were read before it.
      const good: unknown[] = [];
      for (let k = 0; k < count; k++) {
        try {
          good.push(
            JSON.parse(bytes.toString('utf8', this.bounds[2 * k], this.bounds[2 * k + 1])) as unknown,
          );
        } catch {
          break;
        }
      }
      this.bounds.length = 0;
      this.listKey = null;
      if (good.length > 0) this.handlers.entries(key, good, first);
      this.malformed = true;
      return false;
    }
    this.bounds.length = 0;
    if (openFrom !== -1) {
      this.captureFrom = openFrom;
      this.elementFrom = 0;
    }
    this.handlers.entries(key, values, first);
    return true;
  }
}
