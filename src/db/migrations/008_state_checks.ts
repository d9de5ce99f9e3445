/**
 * Stored states held to their constants (issue 14): each state column accepts only the values its domain
 * constant names, so a typo in SQL fails at once instead of leaving a row no query will ever find.
 * NOT VALID then VALIDATE: the check of existing rows does not block writers on PostgreSQL. The lists are
 * taken from the constants when this runs: a value added to a constant later needs a migration of its own.
 */
import { AgentState } from '../../domain/agent-state.ts';
import { CallStatus } from '../../domain/outcome.ts';
import { FlowStatus } from '../../domain/recall-flow.ts';
import { CallState, OutboxState, SmsStatus, sqlList } from '../../domain/stored-states.ts';
import { TaskStatus } from '../../domain/task-status.ts';

const checks: Array<[table: string, name: string, rule: string]> = [
  ['calls', 'calls_state_known', `state IN (${sqlList(CallState)})`],
  ['calls', 'calls_sms_status_known', `sms_status IS NULL OR sms_status IN (${sqlList(SmsStatus)})`],
  ['calls', 'calls_call_status_known', `call_status IS NULL OR call_status IN (${sqlList(CallStatus)})`],
  ['push_outbox', 'push_outbox_state_known', `state IN (${sqlList(OutboxState)})`],
  ['sms_outbox', 'sms_outbox_state_known', `state IN (${sqlList(OutboxState)})`],
  ['tasks', 'tasks_status_known', `status IN (${sqlList(TaskStatus)})`],
  ['recall_flows', 'recall_flows_status_known', `status IN (${sqlList(FlowStatus)})`],
  ['recall_nodes', 'recall_nodes_status_known', `status IN (${sqlList(FlowStatus)})`],
  ['sip_accounts', 'sip_accounts_state_known', `state IN (${sqlList(AgentState)})`],
];

export const up = checks
  .map(
    ([table, name, rule]) =>
      `ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${rule}) NOT VALID;\nALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
  )
  .join('\n');
