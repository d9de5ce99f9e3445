/**
 * The operator console (docs/console.md): a Preact app served prebuilt by the API process at /console,
 * talking only to the public API with signed requests. Pages are chosen by the URL's hash.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Api, ApiFailure, loadCredentials, messageOf, saveCredentials } from './api.ts';
import { type AccountInfo, type Session, SessionContext } from './context.ts';
import { LiveProgress } from './live.ts';
import type { Credentials } from './sign.ts';
import { ErrorText } from './ui.tsx';
import { AgentsPage } from './views/agents.tsx';
import { CampaignPage } from './views/campaign.tsx';
import { EditTaskPage } from './views/edit-task.tsx';
import { NewCampaignPage } from './views/new-campaign.tsx';
import { RecordsPage } from './views/records.tsx';
import { TasksPage } from './views/tasks.tsx';
import { VoiceFilesPage } from './views/voice-files.tsx';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/tasks');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/tasks');
    window.addEventListener('hashchange', onChange);
    // The hash may have changed between the first render and this effect (a link followed right after
    // signing in): read it again, or that page would never show.
    onChange();
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function SignIn({
  onSignedIn,
  notice,
}: {
  onSignedIn: (creds: Credentials) => Promise<void>;
  notice: string | null;
}) {
  const [apiKey, setKey] = useState('');
  const [apiSecret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(notice);
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="signin">
      <h1>Ringcast console</h1>
      <p>Sign in with your account's API key and secret. They stay in this browser tab only.</p>
      <form
        id="signin"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await onSignedIn({ apiKey: apiKey.trim(), apiSecret: apiSecret.trim() });
          } catch (failure) {
            setError(messageOf(failure));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="apiKey">API key</label>
        <input
          id="apiKey"
          autocomplete="username"
          required
          value={apiKey}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <label for="apiSecret">API secret</label>
        <input
          id="apiSecret"
          type="password"
          autocomplete="current-password"
          required
          value={apiSecret}
          onInput={(e) => setSecret(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorText error={error} id="signin-error" />
      </form>
    </main>
  );
}

const pages = [
  ['#/tasks', 'Campaigns'],
  ['#/new', 'New campaign'],
  ['#/records', 'Call records'],
  ['#/voice', 'Voice files'],
  ['#/agents', 'Agents'],
] as const;

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const hash = useHash();
  const [liveState, setLiveState] = useState(session.live.state);
  useEffect(() => {
    session.live.onState = setLiveState;
    setLiveState(session.live.state);
  }, [session]);
  const [path, query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const parts = (path ?? '').split('/').filter(Boolean);
  let page = <TasksPage />;
  if (parts[0] === 'campaign' && parts[1]) page = <CampaignPage key={parts[1]} taskId={Number(parts[1])} />;
  else if (parts[0] === 'new') page = <NewCampaignPage key={hash} />;
  else if (parts[0] === 'edit' && parts[1]) page = <EditTaskPage key={parts[1]} taskId={Number(parts[1])} />;
  else if (parts[0] === 'records') page = <RecordsPage key={hash} initial={params} />;
  else if (parts[0] === 'voice') page = <VoiceFilesPage />;
  else if (parts[0] === 'agents') page = <AgentsPage />;
  const current = `#/${parts[0] ?? 'tasks'}`;
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <p class="brand">Ringcast</p>
        <nav aria-label="Pages">
          {pages.map(([href, label]) => (
            <a
              key={href}
              href={href}
              aria-current={
                current === href || (href === '#/tasks' && current === '#/campaign') ? 'page' : undefined
              }
            >
              {label}
            </a>
          ))}
        </nav>
        <p class="who">
          <span id="account-name">{session.account.accountName}</span> · {session.account.timeZone} ·{' '}
          <span id="live-state" class={`live-${liveState}`}>
            {liveState === 'live' ? 'live' : liveState}
          </span>
        </p>
        <button type="button" id="signout" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main">{page}</main>
    </SessionContext.Provider>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [restoring, setRestoring] = useState(Boolean(loadCredentials()));

  const signIn = async (creds: Credentials) => {
    const api = new Api(creds);
    const account = await api.call<AccountInfo>('/voice/account/info');
    saveCredentials(creds);
    setSession({ api, account, live: new LiveProgress(creds) });
  };
  useEffect(() => {
    const saved = loadCredentials();
    if (!saved) return;
    signIn(saved)
      .catch((error) => {
        if (error instanceof ApiFailure && error.code === '-1') saveCredentials(null);
        setNotice(messageOf(error));
      })
      .finally(() => setRestoring(false));
  }, []);

  if (restoring) return <p class="restoring">Signing in…</p>;
  if (!session) return <SignIn onSignedIn={signIn} notice={notice} />;
  return (
    <Shell
      session={session}
      onSignOut={() => {
        session.live.close();
        saveCredentials(null);
        setNotice('Signed out.');
        setSession(null);
      }}
    />
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
