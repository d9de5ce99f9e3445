import { describe, expect, it } from 'vitest';
import { ScaledClock } from '../../src/clock.ts';
import { settingDefaults, type TaskSettings } from '../../src/domain/task-settings.ts';
import { runCall } from '../../src/engine/call-session.ts';
import { SimDriver } from '../../src/telephony/sim/sim-driver.ts';

const settings = {
  ...settingDefaults,
  allowSendTime: [],
  source: 3,
  text: 'hi',
  lan: 'en',
  toSeat: 1,
  sipGroupId: 1,
  toSeatType: 2,
  toSeatKey: '5',
} as TaskSettings;

describe('one call attempt', () => {
  it('still ends and is recorded, as a call loss, when the transfer step fails', async () => {
    const clock = new ScaledClock(100);
    const driver = new SimDriver(clock, {
      seed: 'session',
      overrides: {
        '4400000001': { kind: 'answer', ringMs: 1000, listenMs: 600_000, key: '5', keyAtMs: 500 },
      },
    });
    const errors: unknown[] = [];
    const result = await runCall(
      {
        clock,
        driver,
        prepareAudio: async () => ({
          key: 'x',
          sampleRate: 8000,
          samples: new Int16Array(8000),
          durationMs: 60_000,
        }),
        onError: (error) => errors.push(error),
        transfer: async () => {
          throw new Error('agent store unreachable');
        },
      },
      { callId: 1, callee: '4400000001', info: null, round: 0, settings },
    );
    expect(result).toMatchObject({ callStatus: 50, callLoss: true, transferred: false, keys: ['5'] });
    expect(errors).toHaveLength(1);
  });
});
