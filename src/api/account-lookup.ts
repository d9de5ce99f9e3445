/**
 * Api-Key → account, reused for a short bound (ACCOUNT_CACHE_MS) so an authenticated request costs no
 * database round trip of its own.
 *
 * Freshness: every account change made in this process (admin listener, calling rules, quotas) empties
 * the cache at once (`onAccountsChanged`); a change made by another process (`ringcast account …` on a
 * shared PostgreSQL) is seen within the bound. A lookup under way when the cache is emptied is not kept:
 * it is read again, so a row read before the change never outlives it.
 *
 * Entries are keyed by the exact Api-Key and checked against the row's own key, so one account's entry
 * never answers another key. Unknown keys are not kept (a flood of made-up keys cannot fill the cache).
 */
import { LRUCache } from 'lru-cache';
import type { Queryable } from '../db/db.ts';
import { type AccountRow, findAccountByKey, onAccountsChanged } from '../db/queries/accounts.ts';

/** Enough for every account of a large installation; the least recently used go first beyond it. */
const maxCachedAccounts = 10_000;

export class AccountLookup {
  private readonly cache: LRUCache<string, AccountRow> | null;
  /** Counts invalidations, so a lookup that raced one can tell. */
  private generation = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly db: Queryable,
    ttlMs: number,
  ) {
    this.cache =
      ttlMs > 0
        ? new LRUCache<string, AccountRow>({
            max: maxCachedAccounts,
            ttl: ttlMs,
            // Read the clock on every lookup: the default caches it until a timer fires, which a busy
            // event loop can put off past the bound.
            ttlResolution: 0,
            // Concurrent requests of one key share one read.
            fetchMethod: async (apiKey) => (await findAccountByKey(this.db, apiKey)) ?? undefined,
          })
        : null;
    this.unsubscribe = onAccountsChanged(() => this.invalidate());
  }

  async find(apiKey: string): Promise<AccountRow | undefined> {
    if (!this.cache) return findAccountByKey(this.db, apiKey);
    const generation = this.generation;
    let account: AccountRow | undefined;
    try {
      account = await this.cache.fetch(apiKey);
    } catch (error) {
      if (generation === this.generation) throw error;
    }
    // The cache was emptied meanwhile (which aborts reads under way): this read may predate the
    // change, so read again.
    if (generation !== this.generation) account = await findAccountByKey(this.db, apiKey);
    return account?.api_key === apiKey ? account : undefined;
  }

  invalidate(): void {
    this.generation++;
    this.cache?.clear();
  }

  close(): void {
    this.unsubscribe();
    this.cache?.clear();
  }
}
