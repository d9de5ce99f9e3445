import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall, TestAccount, TestService } from '../helpers/harness.ts';
import { apiClient, newAccount, startService } from '../helpers/harness.ts';

interface SipRecord {
  groupName: string;
  phoneName: string;
  account: string;
  password: string;
  displayNum: string;
  state?: string;
}

describe('SIP phone accounts and seat groups (spec §3 Agents)', () => {
  let service: TestService;
  let alice: TestAccount;
  let bob: TestAccount;
  let asAlice: ApiCall;
  let asBob: ApiCall;

  beforeAll(async () => {
    service = await startService({ start: false });
    alice = await newAccount(service.db);
    bob = await newAccount(service.db);
    asAlice = apiClient(service, alice);
    asBob = apiClient(service, bob);
  });
  afterAll(async () => service?.close());

  it('addGroup returns the voiceGroupId; the same name again in the same app is -20', async () => {
    const added = await asAlice<number>('/cc/seatGroup/addGroup', {
      appId: alice.appId,
      groupName: 'sales-team',
      callinStrategy: 2,
    });
    expect(added.status).toBe('0');
    expect(added.data).toBeGreaterThan(0);
    const again = await asAlice('/cc/seatGroup/addGroup', { appId: alice.appId, groupName: 'sales-team' });
    expect(again.status).toBe('-20');
    expect(again.reason).toContain('groupName');
    // Another account may use the same name in its own app.
    const other = await asBob('/cc/seatGroup/addGroup', { appId: bob.appId, groupName: 'sales-team' });
    expect(other.status).toBe('0');
  });

  it('groupName must be 4-32 characters and callinStrategy 1-4 (-22 naming the field)', async () => {
    const short = await asAlice('/cc/seatGroup/addGroup', { appId: alice.appId, groupName: 'abc' });
    expect(short.status).toBe('-22');
    expect(short.reason).toMatch(/^groupName: /);
    const long = await asAlice('/cc/seatGroup/addGroup', { appId: alice.appId, groupName: 'x'.repeat(33) });
    expect(long.status).toBe('-22');
    const strategy = await asAlice('/cc/seatGroup/addGroup', {
      appId: alice.appId,
      groupName: 'strategy-5',
      callinStrategy: 5,
    });
    expect(strategy.status).toBe('-22');
    expect(strategy.reason).toMatch(/^callinStrategy: /);
  });

  it('sipAdd creates quantity accounts with unique accounts and passwords, creating a missing group', async () => {
    const added = await asAlice<SipRecord[]>('/voice/sipAdd', {
      appId: alice.appId,
      groupName: 'support-desk',
      phoneName: 'desk phone',
      quantity: 3,
      displayNum: '861012345',
    });
    expect(added.status).toBe('0');
    expect(added.data).toHaveLength(3);
    expect(new Set(added.data.map((r) => r.account)).size).toBe(3);
    expect(new Set(added.data.map((r) => r.password)).size).toBe(3);
    for (const record of added.data) {
      expect(record).toMatchObject({
        groupName: 'support-desk',
        phoneName: 'desk phone',
        displayNum: '861012345',
      });
      expect(record.password.length).toBeGreaterThanOrEqual(12);
    }
    const more = await asAlice<SipRecord[]>('/voice/sipAdd', {
      appId: alice.appId,
      groupName: 'sales-team',
      phoneName: 'sales phone',
      quantity: 2,
    });
    expect(more.status).toBe('0');

    const groups = await asAlice<
      Array<{ voiceGroupId: number; groupName: string; callinStrategy: number; countSeat: number }>
    >('/cc/seatGroup/query', { appId: alice.appId });
    expect(groups.status).toBe('0');
    const byName = new Map(groups.data.map((g) => [g.groupName, g]));
    expect(byName.get('support-desk')).toMatchObject({ callinStrategy: 1, countSeat: 3 });
    expect(byName.get('sales-team')).toMatchObject({ callinStrategy: 2, countSeat: 2 });
  });

  it('sipAdd validates phoneName 4-32, quantity 1-50 and displayNum digits (-22 naming the field)', async () => {
    const base = { appId: alice.appId, groupName: 'support-desk', phoneName: 'desk phone', quantity: 1 };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, phoneName: 'abc' }, 'phoneName'],
      [{ ...base, quantity: 0 }, 'quantity'],
      [{ ...base, quantity: 51 }, 'quantity'],
      [{ ...base, displayNum: '12ab' }, 'displayNum'],
      [{ ...base, groupName: 'ab' }, 'groupName'],
      [{ appId: alice.appId, groupName: 'support-desk', phoneName: 'desk phone' }, 'quantity'],
    ];
    for (const [body, field] of cases) {
      const answer = await asAlice('/voice/sipAdd', body);
      expect(answer.status, JSON.stringify(body)).toBe('-22');
      expect(answer.reason.startsWith(`${field}: `), answer.reason).toBe(true);
    }
  });

  it('sipQuery lists the accounts with their password and state offline until they register', async () => {
    const listed = await asAlice<{ total: number; records: SipRecord[] }>('/voice/sipQuery', {
      current: 1,
      size: 100,
      params: { groupName: 'support-desk' },
    });
    expect(listed.status).toBe('0');
    expect(listed.data.total).toBe(3);
    for (const record of listed.data.records) expect(record.state).toBe('offline');
  });

  it('sipReset gives a new password that sipQuery then shows', async () => {
    const listed = await asAlice<{ records: SipRecord[] }>('/voice/sipQuery', { current: 1, size: 1 });
    const [first] = listed.data.records;
    const reset = await asAlice<{ account: string; password: string }>('/voice/sipReset', {
      account: first!.account,
    });
    expect(reset.status).toBe('0');
    expect(reset.data.password).not.toBe(first!.password);
    const after = await asAlice<{ records: SipRecord[] }>('/voice/sipQuery', {
      current: 1,
      size: 1,
      params: { account: first!.account },
    });
    expect(after.data.records[0]!.password).toBe(reset.data.password);
  });

  it("isolation: another account's app, accounts and groups are -24 or invisible", async () => {
    const listed = await asAlice<{ records: SipRecord[] }>('/voice/sipQuery', { current: 1, size: 1 });
    const aliceAccount = listed.data.records[0]!.account;
    expect((await asBob('/voice/sipReset', { account: aliceAccount })).status).toBe('-24');
    expect(
      (
        await asBob('/voice/sipAdd', {
          appId: alice.appId,
          groupName: 'x-group',
          phoneName: 'phone',
          quantity: 1,
        })
      ).status,
    ).toBe('-24');
    expect((await asBob('/cc/seatGroup/addGroup', { appId: alice.appId, groupName: 'x-group' })).status).toBe(
      '-24',
    );
    expect((await asBob('/cc/seatGroup/query', { appId: alice.appId })).status).toBe('-24');
    const bobGroups = await asBob<Array<{ groupName: string }>>('/cc/seatGroup/query', {});
    expect(bobGroups.data.map((g) => g.groupName)).toEqual(['sales-team']);
    const bobSips = await asBob<{ total: number }>('/voice/sipQuery', { current: 1, size: 10 });
    expect(bobSips.data.total).toBe(0);
  });

  it('every route is also served under /v3', async () => {
    const answer = await asAlice('/v3/cc/seatGroup/query', {});
    expect(answer.status).toBe('0');
  });
});
