import type { Db } from './db.ts';
import * as init from './migrations/001_init.ts';
import * as smsReceipts from './migrations/002_sms_receipts.ts';
import * as agents from './migrations/003_agents.ts';
import * as stopAndLeases from './migrations/004_stop_and_leases.ts';
import * as tenantSafety from './migrations/005_tenant_safety.ts';
import * as hangupBy from './migrations/006_hangup_by.ts';
import * as consoleIndexes from './migrations/007_console.ts';
import * as stateChecks from './migrations/008_state_checks.ts';
import * as callingRules from './migrations/009_calling_rules.ts';
import * as accountAdmin from './migrations/010_account_admin.ts';
import * as taskCounts from './migrations/011_task_counts.ts';
import * as callsTaskCheck from './migrations/012_calls_task_check.ts';
import * as taskIdReservations from './migrations/013_task_id_reservations.ts';

/** Ordered migrations; append only. */
const migrations: ReadonlyArray<{ id: number; name: string; up: string }> = [
  { id: 1, name: 'init', ...init },
  { id: 2, name: 'sms_receipts', ...smsReceipts },
  { id: 3, name: 'agents', ...agents },
  { id: 4, name: 'stop_and_leases', ...stopAndLeases },
  { id: 5, name: 'tenant_safety', ...tenantSafety },
  { id: 6, name: 'hangup_by', ...hangupBy },
  { id: 7, name: 'console', ...consoleIndexes },
  { id: 8, name: 'state_checks', ...stateChecks },
  { id: 9, name: 'calling_rules', ...callingRules },
  { id: 10, name: 'account_admin', ...accountAdmin },
  { id: 11, name: 'task_counts', up: taskCounts.up },
  { id: 12, name: 'calls_task_check', ...callsTaskCheck },
  { id: 13, name: 'task_id_reservations', ...taskIdReservations },
];

/** Applies pending migrations in one transaction, serialised across processes by an advisory lock. */
export async function migrate(db: Db): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7263532)');
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await tx.query<{ id: number }>('SELECT id FROM schema_migrations')).map((row) => row.id),
    );
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await tx.exec(migration.up);
      await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.id);
    }
    return applied;
  });
}
