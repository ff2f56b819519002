import fc from 'fast-check';
import { assertClientApis } from '../../src/pool/grpc-js-release.js';
import { adapterFor } from '../adapter/registry.js';
import { notForThisPool, unmetNeeds } from '../adapter/requirements.js';
import { type PropertyConstraints, type PropertyResult, runCheck } from '../check-runner.js';
import { setUp } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';
import { runLengths } from '../run-lengths.js';
import { BackoffScenario } from './backoff-scenario.js';
import { CloseQueuedScenario } from './close-queued-scenario.js';
import { IdleScenario } from './idle-scenario.js';
import { notOnThisLayer } from './live-only.js';
import { LoopLag } from './loop-lag.js';
import { OutageScenario } from './outage-scenario.js';
import { StackUnderTest } from './scenario-kit.js';

export const CONNECTIVITY_PROPERTY = 'connectivity-spec';

/** Why the simulated layer cannot express this property. */
export const CONNECTIVITY_LIVE_ONLY =
  'the simulated network has no channel states, reconnect backoff, wait-for-ready or clock (it is deterministic by design, with no timers): it cannot express them';

/** One run's scenario. */
export type ConnectivityScenario = BackoffScenario | IdleScenario | OutageScenario | CloseQueuedScenario;

const PARSERS: Record<ConnectivityScenario['kind'], (text: string) => ConnectivityScenario> = {
  backoff: BackoffScenario.parse,
  idle: IdleScenario.parse,
  outage: OutageScenario.parse,
  'close-queued': CloseQueuedScenario.parse,
};

/** Reads a recorded scenario (`backoff(initial=100ms, ...)`) back; throws `ProgramTextError`. */
export function parseConnectivityStep(text: string): ConnectivityScenario {
  const kind = /^([a-z-]+)\(/.exec(text.trim())?.[1] ?? '';
  const parse = PARSERS[kind as ConnectivityScenario['kind']];
  if (!parse) throw new ProgramTextError(text, `not a step of ${CONNECTIVITY_PROPERTY} (${Object.keys(PARSERS).join(', ')})`);
  return parse(text);
}

/** Every scenario kind, equally likely. */
export function connectivityScenarios(): fc.Arbitrary<ConnectivityScenario> {
  return fc.oneof(
    BackoffScenario.arbitrary(),
    IdleScenario.arbitrary(),
    OutageScenario.arbitrary(),
    CloseQueuedScenario.arbitrary(),
  );
}

/**
 * gRPC's connectivity specs, checked on the live layer against the client adapter (pool, client,
 * grpc-js connector) on the selected @grpc/grpc-js release. Each run is one scenario:
 * - `backoff`: reconnect attempts to a server that is down follow connection-backoff.md (spacing,
 *   growth, jitter, cap), counted where the server would be; calls meanwhile fail fast;
 * - `idle`: a connection that dropped with no call pending is not reopened until a call asks;
 * - `outage`: calls that are not wait-for-ready fail fast while the server is down, a
 *   wait-for-ready call waits and succeeds when it returns, and the key recovers within the
 *   backoff bound;
 * - `close-queued`: a call queued when its channel closes ends promptly with a status.
 * Each scenario's file says the spec text its checks come from.
 */
export async function checkConnectivityProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  if (layer !== 'live') return notOnThisLayer(CONNECTIVITY_PROPERTY, c, CONNECTIVITY_LIVE_ONLY);
  const runs = c.runs ?? 100;
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, { features: ['keyOptions', 'add', 'seam'] });
  if (skip) return notForThisPool(CONNECTIVITY_PROPERTY, c, skip);
  const scenarios = c.steps ? fc.constant(parseOne(c.steps)) : connectivityScenarios();
  const kinds: Record<string, number> = {};
  const sizes: number[] = [];
  let lastCase = '';
  const property = fc.asyncProperty(scenarios, async (scenario) => {
    lastCase = String(scenario);
    kinds[scenario.kind] = (kinds[scenario.kind] ?? 0) + 1;
    sizes.push(1);
    await setUp('run the client stack on the selected @grpc/grpc-js', () => assertClientApis());
    const lag = new LoopLag();
    try {
      await scenario.run(new StackUnderTest(adapter), lag);
    } finally {
      lag.stop();
    }
  });
  const result = await runCheck(property, {
    name: CONNECTIVITY_PROPERTY,
    layer,
    constraints: c,
    runs,
    shape: { maxCommands: 1, addresses: 1, runs },
    lastCase: () => lastCase,
  });
  // A scenario is this property's command; the counts say how often each kind ran.
  return { ...result, runLengths: runLengths(sizes), commandCounts: kinds };
}

function parseOne(steps: readonly string[]): ConnectivityScenario {
  if (steps.length !== 1) throw new ProgramTextError(steps.join(' ; '), `a ${CONNECTIVITY_PROPERTY} case is one scenario`);
  return parseConnectivityStep(steps[0] as string);
}
