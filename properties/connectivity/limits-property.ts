import fc from 'fast-check';
import { assertClientApis } from '../../src/pool/grpc-js-release.js';
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';
import { TestServer } from '../../src/server/test-server.js';
import { adapterFor } from '../adapter/registry.js';
import { notForThisPool, unmetNeeds } from '../adapter/requirements.js';
import { type PropertyConstraints, type PropertyResult, runCheck } from '../check-runner.js';
import { setUp } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';
import { runLengths } from '../run-lengths.js';
import { notOnThisLayer } from './live-only.js';
import { expectedOutcome, requestSize, responseSize } from './message-size.js';
import { intField, readStep, StackUnderTest, statusText, stepText, violation } from './scenario-kit.js';

export const LIMITS_PROPERTY = 'transport-limits';

/** Why the simulated layer cannot express this property. */
export const LIMITS_LIVE_ONLY =
  'the simulated network passes requests as objects: no message encoding, size limits, HTTP/2 streams, flow control or session memory';

/**
 * The receive limit of gRPC when none is configured: 4 MiB (grpc/grpc channel_arg_names.h and
 * GRPC_DEFAULT_MAX_RECV_MESSAGE_LENGTH; grpc-js's `grpc.max_receive_message_length` default). The test
 * servers keep it; the client's is generated.
 */
export const DEFAULT_MAX_RECEIVE = 4 * 1024 * 1024;
/** Most payload bytes one run sends, so that a run stays short and memory stays small. */
const MOST_BYTES_PER_RUN = 24 * 1024 * 1024;
const CALL_DEADLINE_MS = 15_000;
const MOST_CALLS = 24;

const SIZE_SPEC = 'statuscodes.md: a message larger than the configured limit fails RESOURCE_EXHAUSTED';
const STREAMS_SPEC = 'RFC 7540 5.1.2; gRFC A6 transparent retries';

/**
 * One run: a server announcing a stream limit (`streams`, 0: none), a key with a receive limit
 * (`max`, 0: the default 4 MiB), and `sizes.length` calls started at once on the key's one
 * connection, each echoing a payload of that size after `delay` ms.
 */
export class LimitsCase {
  constructor(
    readonly streams: number,
    readonly clientMax: number,
    readonly delayMs: number,
    readonly sizes: readonly number[],
  ) {}

  toString(): string {
    return stepText('limits', {
      streams: this.streams === 0 ? 'none' : this.streams,
      max: this.clientMax === 0 ? 'default' : this.clientMax,
      delay: `${this.delayMs}ms`,
      sizes: this.sizes.join(' '),
    });
  }

  static parse(text: string): LimitsCase {
    const f = readStep(text, 'limits', ['streams', 'max', 'delay', 'sizes']);
    const sizes = (f.sizes ?? '').split(' ').map(Number);
    if (sizes.length === 0 || sizes.length > MOST_CALLS || sizes.some((s) => !Number.isInteger(s) || s < 0 || s > 64 << 20)) {
      throw new ProgramTextError(text, `sizes must be 1..${MOST_CALLS} whole numbers of bytes`);
    }
    return new LimitsCase(
      f.streams === 'none' ? 0 : intField(text, f, 'streams', 1, 1000),
      f.max === 'default' ? 0 : intField(text, f, 'max', 1, DEFAULT_MAX_RECEIVE),
      intField(text, f, 'delay', 0, 1000),
      sizes,
    );
  }

  /**
   * Payloads from empty to past the limit, most small, some at the boundary, some over it. Each
   * size is drawn relative to the limit (not chained on it), so that every field shrinks.
   */
  static arbitrary(): fc.Arbitrary<LimitsCase> {
    const size = fc.oneof(
      { withCrossShrink: true },
      { arbitrary: fc.record({ at: fc.constant('small' as const), n: fc.integer({ min: 0, max: 2_048 }) }), weight: 4 },
      { arbitrary: fc.record({ at: fc.constant('share' as const), n: fc.integer({ min: 0, max: 1_000 }) }), weight: 1 },
      { arbitrary: fc.record({ at: fc.constant('edge' as const), n: fc.integer({ min: -96, max: 96 }) }), weight: 2 },
      { arbitrary: fc.record({ at: fc.constant('over' as const), n: fc.integer({ min: 97, max: 70_000 }) }), weight: 1 },
    );
    return fc
      .record({
        streams: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 })),
        clientMax: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, fc.constantFrom(16_384, 65_536, 1_048_576)),
        delayMs: fc.integer({ min: 0, max: 20 }),
        sizes: fc.array(size, { minLength: 1, maxLength: MOST_CALLS }),
      })
      .map((r) => {
        const limit = r.clientMax === 0 ? DEFAULT_MAX_RECEIVE : r.clientMax;
        const bytes = r.sizes.map(({ at, n }) =>
          at === 'small' ? n : at === 'share' ? Math.floor((limit * n) / 1_000) : limit + n,
        );
        return new LimitsCase(r.streams, r.clientMax, r.delayMs, withinBudget(bytes));
      });
  }

  async run(stack: StackUnderTest, runNo: number): Promise<void> {
    const server = await setUp('start a test server', () =>
      TestServer.start(this.streams === 0 ? {} : { maxConcurrentStreams: this.streams }),
    );
    try {
      const pool = stack.pool(stack.connector(), 'transport-limits');
      const options: ChannelOptionValues = this.clientMax === 0 ? {} : { 'grpc.max_receive_message_length': this.clientMax };
      const client = stack.client(pool, server.address, options);
      const limits = { serverReceive: DEFAULT_MAX_RECEIVE, clientReceive: this.clientMax || DEFAULT_MAX_RECEIVE };
      const outcomes = await Promise.all(
        this.sizes.map(async (size, i) => {
          const requestId = `limits-${runNo}-${i}`;
          const payload = new Uint8Array(size).fill(i + 1);
          try {
            const reply = await client.call({ requestId, payload, delayMs: this.delayMs }, { deadlineMs: CALL_DEADLINE_MS });
            const intact = reply.payload.length === size && Buffer.from(reply.payload).equals(Buffer.from(payload));
            return { requestId, size, outcome: 'ok' as const, intact };
          } catch (error) {
            const status = (error as { status?: unknown }).status;
            return { requestId, size, outcome: typeof status === 'number' ? status : String(error), intact: false };
          }
        }),
      );
      for (const o of outcomes) {
        const expected = expectedOutcome(
          requestSize({ requestIdBytes: o.requestId.length, payloadBytes: o.size, delayMs: this.delayMs, failCode: 0 }),
          responseSize({
            requestIdBytes: o.requestId.length,
            payloadBytes: o.size,
            timesSeen: 1,
            serverIdBytes: Buffer.byteLength(server.instanceId),
          }),
          limits,
        );
        const allowed = expected === 'ok' ? ['ok'] : expected === 'resource-exhausted' ? [8] : ['ok', 8];
        if (!allowed.includes(o.outcome)) {
          // Under the limits, a failure is the size limit misapplied or a call failed for want of a stream.
          const spec = expected === 'ok' ? `${SIZE_SPEC}; ${STREAMS_SPEC}` : SIZE_SPEC;
          throw violation(
            spec,
            `a call with a ${o.size}-byte payload (receive limits: server ${limits.serverReceive}, client ${limits.clientReceive}; ${this.sizes.length} calls at once, server stream limit ${this.streams || 'none'}) ended ${statusText(o.outcome === 'ok' ? 0 : o.outcome)}; expected ${expected === 'either' ? 'OK or RESOURCE_EXHAUSTED' : expected === 'ok' ? 'OK' : 'RESOURCE_EXHAUSTED'}`,
          );
        }
        if (o.outcome === 'ok' && !o.intact) throw violation(SIZE_SPEC, `the ${o.size}-byte payload came back altered`);
      }
      const after = await client.call({ requestId: `limits-${runNo}-after` }, { deadlineMs: CALL_DEADLINE_MS }).then(
        () => 'ok' as const,
        (e: { status?: number }) => e.status,
      );
      if (after !== 'ok')
        throw violation(STREAMS_SPEC, `a call after the others ended ${statusText(after)}: the connection no longer serves`);
      const accepted = server.ledger.snapshot().acceptedConnections;
      if (accepted !== 1) {
        throw violation(
          STREAMS_SPEC,
          `the key's calls used ${accepted} connections (the server's count): calls beyond the stream limit wait for a stream on the one connection`,
        );
      }
    } finally {
      await stack.closeAll();
      await server.close();
    }
  }
}

/** The sizes, cut where their total would pass MOST_BYTES_PER_RUN (at least one kept). */
function withinBudget(sizes: readonly number[]): number[] {
  const kept: number[] = [];
  let total = 0;
  for (const s of sizes) {
    if (kept.length > 0 && total + s > MOST_BYTES_PER_RUN) break;
    kept.push(s);
    total += s;
  }
  return kept;
}

/**
 * Message size and stream concurrency as generated dimensions, on the live layer: payloads from
 * empty to past the receive limit (4 MiB by default, or a smaller one on the key), and up to 24
 * calls at once on one connection to a server that announces a stream limit of 1 to 8 (or none).
 * Each call ends as its message sizes say (doc/statuscodes.md: RESOURCE_EXHAUSTED past the limit,
 * OK with the payload intact at or under it); no call fails for want of a stream (RFC 7540 5.1.2:
 * a client does not open streams beyond the server's limit, so the excess waits for one; gRFC A6: a
 * stream the server refuses unseen is retried transparently); all go over the key's one connection,
 * which still serves afterwards. Flow control and HTTP/2 session memory are exercised on the way.
 */
export async function checkLimitsProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  if (layer !== 'live') return notOnThisLayer(LIMITS_PROPERTY, c, LIMITS_LIVE_ONLY);
  const runs = c.runs ?? 100;
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, { preciseModel: true, features: ['keyOptions', 'seam'] });
  if (skip) return notForThisPool(LIMITS_PROPERTY, c, skip);
  const cases = c.steps ? fc.constant(parseOne(c.steps)) : LimitsCase.arbitrary();
  const sizes: number[] = [];
  let lastCase = '';
  let runNo = 0;
  const property = fc.asyncProperty(cases, async (limitsCase) => {
    lastCase = String(limitsCase);
    sizes.push(limitsCase.sizes.length);
    runNo += 1;
    await setUp('run the client stack on the selected @grpc/grpc-js', () => assertClientApis());
    await limitsCase.run(new StackUnderTest(adapter), runNo);
  });
  const result = await runCheck(property, {
    name: LIMITS_PROPERTY,
    layer,
    constraints: c,
    runs,
    shape: { maxCommands: MOST_CALLS, addresses: 1, runs },
    lastCase: () => lastCase,
  });
  // A call is this property's command.
  return { ...result, runLengths: runLengths(sizes) };
}

function parseOne(steps: readonly string[]): LimitsCase {
  if (steps.length !== 1) throw new ProgramTextError(steps.join(' ; '), 'a transport-limits case is one step');
  return LimitsCase.parse(steps[0] as string);
}
