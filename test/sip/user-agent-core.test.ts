import { describe, expect, it } from 'vitest';
import { makeResponse, tagOf } from '../../src/telephony/sip/message.ts';
import { DEFAULT_TIMERS } from '../../src/telephony/sip/timers.ts';
import { UserAgentCore } from '../../src/telephony/sip/user-agent-core.ts';
import { FakeTransport, INVITE_TEXT, req } from './helpers.ts';

const remote = { host: '127.0.0.1', port: 5060 };

describe('user-agent core (server side)', () => {
  it('declines out-of-dialog INVITEs (603) and answers OPTIONS statelessly, keeping no state per request', () => {
    const t = new FakeTransport();
    const core = new UserAgentCore(t, DEFAULT_TIMERS);
    for (let i = 0; i < 500; i++) {
      t.emit('message', req(INVITE_TEXT.replace('z9hG4bKtest1', `z9hG4bKflood${i}`)), remote);
      t.emit(
        'message',
        req(INVITE_TEXT.replace(/INVITE/g, 'OPTIONS').replace('z9hG4bKtest1', `z9hG4bKo${i}`)),
        remote,
      );
    }
    const statuses = t.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0));
    expect(statuses.filter((s) => s === 603)).toHaveLength(500);
    expect(statuses.filter((s) => s === 200)).toHaveLength(500);
    expect(core.stats()).toEqual({ transactions: 0, dialogs: 0, cachedResponses: 0 });
  });

  it('a retransmitted in-dialog request gets the cached response and reaches the dialog only once (§17.2.3)', async () => {
    const t = new FakeTransport();
    const core = new UserAgentCore(t, DEFAULT_TIMERS);
    let seen = 0;
    core.registerDialog('call-1@127.0.0.1', 'ours', {
      onRequest: (r, rem) => {
        seen++;
        core.respond(r, rem, makeResponse(r, 200));
      },
      onAck: () => {},
      onStray2xx: () => {},
    });
    const bye = req(
      INVITE_TEXT.replace(/INVITE/g, 'BYE').replace(
        'To: <sip:100@127.0.0.1>',
        'To: <sip:100@127.0.0.1>;tag=ours',
      ),
    );
    t.emit('message', bye, remote);
    t.emit('message', bye, remote);
    expect(seen).toBe(1);
    expect(t.sent.filter((s) => s.message.kind === 'response')).toHaveLength(2);
    // A request for an unknown dialog gets 481, statelessly.
    const stray = req(
      INVITE_TEXT.replace(/INVITE/g, 'BYE')
        .replace('z9hG4bKtest1', 'z9hG4bKstray')
        .replace('To: <sip:100@127.0.0.1>', 'To: <sip:100@127.0.0.1>;tag=nope'),
    );
    t.emit('message', stray, remote);
    const last = t.sent.at(-1)!.message;
    expect(last.kind === 'response' && last.status).toBe(481);
    expect(tagOf(bye.headers.get('to'))).toBe('ours');
    await core.close();
  });
});
