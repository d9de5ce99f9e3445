/** Seat groups and SIP accounts (agents), with each agent's state kept live by the event stream. */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, type Page } from '../api.ts';
import { useSession } from '../context.ts';
import { ErrorText, PageTitle, TableWrap } from '../ui.tsx';

interface SeatGroup {
  voiceGroupId: number;
  groupName: string;
  callinStrategy: number;
  countSeat: number;
  onlineSeat: number;
  appId: number;
}

interface SipAccount {
  groupName: string;
  phoneName: string;
  account: string;
  password: string;
  state: string;
  callCount: number;
  registeredUntil: string | null;
}

const strategies: Record<number, string> = {
  1: 'longest idle',
  2: 'fewest calls',
  3: 'priority',
  4: 'round-robin',
};

export function AgentsPage() {
  const { api, account, live } = useSession();
  const appId = account.apps[0]?.appId;
  const [groups, setGroups] = useState<SeatGroup[]>([]);
  const [accounts, setAccounts] = useState<SipAccount[]>([]);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [newGroup, setNewGroup] = useState({ groupName: '', callinStrategy: '1' });
  const [newPhones, setNewPhones] = useState({ groupName: '', phoneName: '', quantity: '1' });

  useEffect(() => {
    Promise.all([
      api.call<SeatGroup[]>('/cc/seatGroup/query', {}),
      api.call<Page<SipAccount>>('/voice/sipQuery', { current: 1, size: 100 }),
    ])
      .then(([loadedGroups, page]) => {
        setGroups(loadedGroups);
        setAccounts(page.records);
      })
      .catch((failure) => setError(messageOf(failure)));
  }, [api, version]);

  useEffect(
    () =>
      live.subscribe((event) => {
        if (event.type !== 'agent') return;
        setAccounts((old) =>
          old.map((row) =>
            row.account === event.data.account
              ? { ...row, state: event.data.state, callCount: event.data.callCount }
              : row,
          ),
        );
      }),
    [live],
  );

  const run = async (what: string, path: string, body: unknown) => {
    setNotice(null);
    try {
      const result = await api.call<unknown>(path, body);
      setNotice(what);
      setError(null);
      setVersion((n) => n + 1);
      return result;
    } catch (failure) {
      setError(messageOf(failure));
      return null;
    }
  };

  return (
    <section>
      <PageTitle>Agents</PageTitle>
      <ErrorText error={error} />
      <p class="notice" role="status">
        {notice ?? ''}
      </p>
      <h2>Seat groups</h2>
      <TableWrap label="Seat groups">
        <table id="seat-groups">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Who gets the call</th>
              <th scope="col">Agents</th>
              <th scope="col">Online</th>
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <tr key={group.voiceGroupId}>
                <td>{group.voiceGroupId}</td>
                <td>{group.groupName}</td>
                <td>{strategies[group.callinStrategy]}</td>
                <td>{group.countSeat}</td>
                <td>{group.onlineSeat}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void run(`Added seat group ${newGroup.groupName}.`, '/cc/seatGroup/addGroup', {
            appId,
            groupName: newGroup.groupName.trim(),
            callinStrategy: Number(newGroup.callinStrategy),
          });
        }}
      >
        <div class="field">
          <label for="group-name">New seat group name (4-32)</label>
          <input
            id="group-name"
            value={newGroup.groupName}
            onInput={(e) => setNewGroup({ ...newGroup, groupName: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="group-strategy">Who gets the call</label>
          <select
            id="group-strategy"
            value={newGroup.callinStrategy}
            onChange={(e) => setNewGroup({ ...newGroup, callinStrategy: e.currentTarget.value })}
          >
            {Object.entries(strategies).map(([value, words]) => (
              <option key={value} value={value}>
                {words}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Add seat group</button>
      </form>

      <h2>SIP accounts</h2>
      <TableWrap label="SIP accounts">
        <table id="sip-accounts">
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Phone name</th>
              <th scope="col">Group</th>
              <th scope="col">State</th>
              <th scope="col">Calls</th>
              <th scope="col">Registered until</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {accounts.map((row) => (
              <tr key={row.account} data-account={row.account}>
                <td>{row.account}</td>
                <td>{row.phoneName}</td>
                <td>{row.groupName}</td>
                <td class="state">{row.state}</td>
                <td>{row.callCount}</td>
                <td class="muted">{row.registeredUntil ?? '—'}</td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    onClick={async () => {
                      const result = (await run(`Password of ${row.account} reset.`, '/voice/sipReset', {
                        account: row.account,
                      })) as { password: string } | null;
                      if (result) setNotice(`New password of ${row.account}: ${result.password}`);
                    }}
                  >
                    Reset password <span class="sr-only">of {row.account}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void run(`Added ${newPhones.quantity} SIP accounts.`, '/voice/sipAdd', {
            appId,
            groupName: newPhones.groupName.trim(),
            phoneName: newPhones.phoneName.trim(),
            quantity: Number(newPhones.quantity),
          });
        }}
      >
        <div class="field">
          <label for="phones-group">Seat group name</label>
          <input
            id="phones-group"
            value={newPhones.groupName}
            onInput={(e) => setNewPhones({ ...newPhones, groupName: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="phones-name">Phone name (4-32)</label>
          <input
            id="phones-name"
            value={newPhones.phoneName}
            onInput={(e) => setNewPhones({ ...newPhones, phoneName: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="phones-quantity">How many (1-50)</label>
          <input
            id="phones-quantity"
            value={newPhones.quantity}
            onInput={(e) => setNewPhones({ ...newPhones, quantity: e.currentTarget.value })}
          />
        </div>
        <button type="submit">Add SIP accounts</button>
      </form>
    </section>
  );
}
