import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.ts';
import type { LiveProgress } from './live.ts';

export interface AccountInfo {
  accountName: string;
  timeZone: string;
  apps: Array<{ appId: number; name: string }>;
  maxConcurrency: number;
  callsPerSecond: number;
  requireHmac: boolean;
}

export interface Session {
  api: Api;
  account: AccountInfo;
  live: LiveProgress;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('not signed in');
  return session;
}
