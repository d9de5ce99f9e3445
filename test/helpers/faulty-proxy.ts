import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { testDb } from './harness.ts';

/**
 * A TCP proxy in front of PostgreSQL that can cut all its connections and refuse new ones, or black-hole
 * them (connections accepted, no byte forwarded either way: a partitioned network), until restored.
 */
export class FaultyProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket | null }>();
  private mode: 'up' | 'refuse' | 'blackhole' = 'up';
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async start() {
    this.server = createServer((client) => {
      if (this.mode === 'refuse') return client.destroy();
      client.on('error', () => undefined);
      const pair = { client, upstream: null as Socket | null };
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      if (this.mode === 'blackhole') return; // accepted, never answered
      const upstream = connect(this.target.port, this.target.host);
      upstream.on('error', () => undefined);
      upstream.on('close', () => client.destroy());
      pair.upstream = upstream;
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  cut() {
    this.mode = 'refuse';
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
  }
  /** Stops forwarding on every connection, old and new, without closing any. */
  blackhole() {
    this.mode = 'blackhole';
    for (const { client, upstream } of this.pairs) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }
  /** Back up: black-holed connections are reset (their peers gave up on them), new ones forward. */
  restore() {
    if (this.mode === 'blackhole') {
      for (const { client, upstream } of this.pairs) {
        client.destroy();
        upstream?.destroy();
      }
    }
    this.mode = 'up';
  }
  close() {
    this.cut();
    this.server?.close();
  }
}

/**
 * A fresh PostgreSQL test database and a FaultyProxy in front of it; `url` reaches the database through
 * the proxy (what the service under test uses), `created.db` directly (what the test checks with). Both
 * are removed by `cleanups`.
 */
export async function proxiedTestDb(cleanups: Array<() => Promise<void> | void>) {
  const created = await testDb();
  cleanups.push(created.drop);
  const direct = new URL(created.url!);
  const proxy = new FaultyProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  await proxy.start();
  cleanups.push(() => proxy.close());
  const proxied = new URL(created.url!);
  proxied.host = `127.0.0.1:${proxy.port}`;
  return { created, proxy, url: proxied.toString() };
}
