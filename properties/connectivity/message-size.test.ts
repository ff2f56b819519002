import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTestService } from '../../src/proto/load-test-proto.js';
import { expectedOutcome, requestSize, responseSize, varintSize } from './message-size.js';

describe('message sizes from the protobuf encoding rules', () => {
  it('varints take 7 bits a byte', () => {
    expect([0, 127, 128, 16_383, 16_384, 4 * 1024 * 1024].map(varintSize)).toEqual([1, 1, 2, 2, 3, 4]);
  });

  it("bound the size the suite's own encoder (proto-loader) produces", () => {
    const call = loadTestService().Call;
    if (!call) throw new Error('the load-test service has no Call method');
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 0, max: 70_000 }),
        fc.integer({ min: 0, max: 16 }),
        (requestId, payloadBytes, delayMs, failCode) => {
          const wire = (call.requestSerialize as (m: unknown) => Buffer)({
            requestId,
            payload: Buffer.alloc(payloadBytes),
            delayMs,
            failCode,
          });
          const bounds = requestSize({ requestIdBytes: requestId.length, payloadBytes, delayMs, failCode });
          expect(wire.length).toBeGreaterThanOrEqual(bounds.min);
          expect(wire.length).toBeLessThanOrEqual(bounds.max);
          const reply = (call.responseSerialize as (m: unknown) => Buffer)({
            requestId,
            payload: Buffer.alloc(payloadBytes),
            timesSeen: 1,
            serverId: 'abcd1234-1',
          });
          const replyBounds = responseSize({ requestIdBytes: requestId.length, payloadBytes, timesSeen: 1, serverIdBytes: 10 });
          expect(reply.length).toBeGreaterThanOrEqual(replyBounds.min);
          expect(reply.length).toBeLessThanOrEqual(replyBounds.max);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('say OK under both limits, RESOURCE_EXHAUSTED past one, either where the encoding decides', () => {
    const limits = { serverReceive: 100, clientReceive: 50 };
    expect(expectedOutcome({ min: 40, max: 45 }, { min: 45, max: 50 }, limits)).toBe('ok');
    expect(expectedOutcome({ min: 101, max: 105 }, { min: 0, max: 0 }, limits)).toBe('resource-exhausted');
    expect(expectedOutcome({ min: 98, max: 102 }, { min: 0, max: 0 }, limits)).toBe('either');
    expect(expectedOutcome({ min: 40, max: 45 }, { min: 51, max: 55 }, limits)).toBe('resource-exhausted');
    expect(expectedOutcome({ min: 40, max: 45 }, { min: 48, max: 52 }, limits)).toBe('either');
  });
});
