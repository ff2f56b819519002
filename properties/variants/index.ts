import type { PoolAdapter } from '../adapter/adapter.js';
import { KEYS_VARIANTS } from '../keys/variants.js';
import { loadPatchedStack, type SourcePatch } from './patched-stack.js';

/** Kinds of real-world bug the catalogue spreads over. */
export type BugClass =
  | 'creation race'
  | 'removal and draining'
  | 'leak'
  | 'error path'
  | 'health'
  | 'stats and metrics'
  | 'keys and isolation'
  | 'server restart'
  | 'latency'
  | 'progress'
  | 'network faults'
  | 'connectivity'
  | 'transport limits'
  | 'connect failures'
  | 'deadlines'
  | 'load shapes';

/** Why a layer cannot catch a variant, when one cannot. */
export interface LayerBlindSpot {
  readonly layer: 'live' | 'simulated';
  readonly why: string;
}

/**
 * A known-broken stack: the real source with one realistic bug typed into it (a textual patch of
 * `src/`), kept test-side so that the suite can show it catches the bug. The patch is applied to a
 * copy of the current source, so a variant is the bug itself, not a rewrite beside the real code;
 * when the code it changes is rewritten, loading it fails with `VariantPatchError`.
 */
export interface BrokenVariant {
  readonly name: string;
  readonly bugClass: BugClass;
  /** The real-world bug it stands for, in one line. */
  readonly description: string;
  readonly patches: readonly SourcePatch[];
  /**
   * Commands in the shortest sequence that shows the bug, and why no shorter one can: the
   * self-check compares the shrunk counterexample with it.
   */
  readonly shortest: { readonly commands: number; readonly why: string };
  /** A layer that cannot see this bug, and why (the self-check still runs it there and reports it). */
  readonly blindSpot?: LayerBlindSpot;
  /**
   * Time the default self-check gives this variant on a layer, where the default (60 s) is not
   * enough: measured, with room for a loaded machine. `--cap` overrides it.
   */
  readonly budgetMs?: Partial<Record<'live' | 'simulated', number>>;
  /**
   * The properties that can see it on a layer, where only some can and they need long: after the
   * two short rounds every property gets (1% and 5% of the budget each), the rest of the default
   * self-check's budget goes to them alone, so another property catching it first is still seen.
   */
  readonly focus?: Partial<Record<'live' | 'simulated', readonly string[]>>;
}

/** The variant's adapter: this project's pool and client built from the patched copy of the source. */
export function variantAdapter(v: BrokenVariant): Promise<PoolAdapter> {
  return loadPatchedStack(v.name, v.patches);
}

const POOL = 'pool/connection-pool.ts';
const CONNECTOR = 'pool/grpc-connector.ts';
const NO_GRPC_IN_SIMULATION =
  'the simulated layer replaces the grpc-js connector with its own network, so a bug inside GrpcConnector cannot show there';
const CLIENT = 'client/pool-client.ts';
const NO_CHANNELS_IN_SIMULATION =
  'the simulated network has no channel states, reconnect backoff, wait-for-ready or clock: only connectivity-spec on the live layer can see this';
const NO_CONNECT_FAILURE_LIVE =
  "grpc-js connects lazily: the live connector's connect() never fails (a server that refuses shows as UNAVAILABLE on a call), so the pool's failed-connect path runs on the simulated layer only";
const ONE_SCENARIO = { commands: 1, why: 'one connectivity-spec scenario shows it' };
/**
 * The property built for the connectivity variants: the long rounds and the second look go to it
 * (pool-linearizable often fails first, with a program of 3 to 8 operations, where one
 * connectivity-spec scenario shows the bug).
 */
const CONNECTIVITY_FOCUS = { live: ['connectivity-spec'] } as const;

export const VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'lock-per-call',
    bugClass: 'creation race',
    description: 'the per-key lock is made but never stored, so concurrent gets of one key each create a connection',
    patches: [{ file: POOL, find: '      this.locks.set(keyId, lock);\n', replace: '' }],
    shortest: { commands: 1, why: 'one wave of 2 concurrent requests to one address races the creation' },
  },
  {
    name: 'one-lock-for-all-keys',
    bugClass: 'progress',
    description: 'every key shares one creation lock, so a slow connect to one address stalls gets of every other',
    patches: [
      { file: POOL, find: 'let lock = this.locks.get(keyId);', replace: "let lock = this.locks.get('');" },
      { file: POOL, find: 'this.locks.set(keyId, lock);', replace: "this.locks.set('', lock);" },
      {
        file: POOL,
        find: 'if (lock.users === 0) this.locks.delete(keyId);',
        replace: "if (lock.users === 0) this.locks.delete('');",
      },
    ],
    shortest: { commands: 2, why: 'a get of one key must wait while another key connects (the progress check)' },
  },
  {
    name: 'close-without-drain',
    bugClass: 'removal and draining',
    description: 'remove/close close the connection without waiting for calls in flight',
    patches: [{ file: POOL, find: '      await this.waitForIdle(entry);\n', replace: '' }],
    shortest: { commands: 2, why: 'a call must be in flight (a wave) when a remove or close happens' },
  },
  {
    name: 'remove-returns-early',
    bugClass: 'removal and draining',
    description: 'remove answers before the connection is closed (fire-and-forget close)',
    patches: [
      {
        file: POOL,
        find: '    if (!removed) return false;\n    await removed.drained;',
        replace: '    if (!removed) return false;\n    void removed.drained;',
      },
    ],
    shortest: { commands: 2, why: 'a key must exist (add or call) before a remove can close it' },
  },
  {
    name: 'leak-on-remove',
    bugClass: 'leak',
    description: 'remove and close forget to close the channel, though the counters say closed',
    patches: [{ file: POOL, find: '        await this.closeConnection(entry);\n', replace: '' }],
    shortest: { commands: 1, why: 'one command creating a connection; the end-of-run close leaks it' },
  },
  {
    name: 'double-release-on-error',
    bugClass: 'error path',
    description: 'a failed call releases its lease in catch and again in finally, and release lost its guard',
    patches: [
      { file: POOL, find: '        if (released) return;\n', replace: '' },
      {
        file: POOL,
        find: '      return await use(lease.connection);\n    } finally {',
        replace:
          '      return await use(lease.connection);\n    } catch (error) {\n      lease.release();\n      throw error;\n    } finally {',
      },
    ],
    shortest: { commands: 1, why: 'one failing call (a wave or call with fail=)' },
  },
  {
    name: 'lease-leaked-on-failure',
    bugClass: 'progress',
    description:
      'the lease is released after a successful call only, so a failed call leaves it held and remove and close wait for ever',
    patches: [
      {
        file: POOL,
        find: '    try {\n      return await use(lease.connection);\n    } finally {\n      lease.release();\n    }',
        replace: '    const result = await use(lease.connection);\n    lease.release();\n    return result;',
      },
    ],
    shortest: { commands: 1, why: 'one failing call (a wave or call with fail=); the end-of-run close then never returns' },
  },
  {
    name: 'uncounted-lock-waiters',
    bugClass: 'stats and metrics',
    description: 'gets that waited on the creation lock count as neither created nor reused (was in the real pool)',
    patches: [{ file: POOL, find: '        if (!created) this.reused += 1;\n', replace: '' }],
    shortest: { commands: 1, why: 'one wave of 2 concurrent requests to one address' },
  },
  {
    name: 'reused-on-create',
    bugClass: 'stats and metrics',
    description: 'the get that creates a connection also counts it as reused',
    patches: [{ file: POOL, find: '        if (!created) this.reused += 1;', replace: '        this.reused += 1;' }],
    shortest: { commands: 1, why: 'one call creates a connection' },
  },
  {
    name: 'close-keys-live-while-closing',
    bugClass: 'stats and metrics',
    description:
      'close() waits for creations under way before taking keys out: gets are refused while stats still show keys live (was in the real pool)',
    patches: [
      {
        file: POOL,
        find: '      const entries = [...this.entries.values()];\n      this.entries.clear();\n      const drains = entries.map((e) => this.drainAndClose(e));\n      // Wait for creations already under way (each closes what it made on seeing the pool closed),\n      // so that nothing is left open once close resolves.\n      await Promise.all([...this.locks.values()].map((l) => l.mutex.waitForUnlock()));',
        replace:
          '      await Promise.all([...this.locks.values()].map((l) => l.mutex.waitForUnlock()));\n      const entries = [...this.entries.values()];\n      this.entries.clear();\n      const drains = entries.map((e) => this.drainAndClose(e));',
      },
    ],
    shortest: { commands: 3, why: 'a creation held under its lock, a close, and a refused get or stats read meanwhile' },
    // On the live layer only a rare interleaving shows it (a creation still connecting when the
    // close begins, a stats read in that window): caught at 40 s and 44 s (seeds 20261206, 11) and
    // missed in 60 s (seed 7) with a mutation run beside it, 2026-12-06. Simulated: 4-8.5 s alone
    // (seeds 20261127, 1, 2), which npm test's load made more than its 20 s once (2026-12-07).
    // Live 210 s: caught at 67 s in the default run of 2026-12-07 (sixth session), whose shrinking
    // and second look then ran its 150 s out at 5 commands; the extra minute is for them.
    budgetMs: { simulated: 45_000, live: 210_000 },
    focus: { live: ['pool-linearizable'] },
  },
  {
    name: 'stats-inflight-zero',
    bugClass: 'stats and metrics',
    description: 'stats() reports inFlight 0 (a refactor left the placeholder in)',
    patches: [{ file: POOL, find: '      inFlight,\n', replace: '      inFlight: 0,\n' }],
    shortest: { commands: 2, why: 'a stats read must overlap a call that holds its connection' },
  },
  {
    name: 'failures-not-in-metrics',
    bugClass: 'stats and metrics',
    description: 'the client records successes in LoadTestMetrics but forgets failures on the error path',
    patches: [{ file: CLIENT, find: '      this.#metrics?.recordFailure((performance.now() - started) * 1000);\n', replace: '' }],
    shortest: { commands: 1, why: 'one failing call' },
  },
  {
    name: 'latency-in-nanoseconds',
    bugClass: 'stats and metrics',
    description: 'successful calls record their latency in ns where LoadTestMetrics counts us (x1e6 from ms, not x1e3)',
    patches: [
      {
        file: CLIENT,
        find: '      this.#metrics?.recordSuccess((performance.now() - started) * 1000);',
        replace: '      this.#metrics?.recordSuccess((performance.now() - started) * 1_000_000);',
      },
    ],
    shortest: { commands: 1, why: 'one successful call; its recorded latency exceeds the interval the caller saw' },
  },
  {
    name: 'retry-on-unavailable',
    bugClass: 'error path',
    description: 'a call that fails UNAVAILABLE is retried once with the same request id and a fresh deadline',
    patches: [
      {
        file: CLIENT,
        find: '      const reply = await this.pool.withKey(this.#key, (c) => this.pool.connector.call(c, request, deadlineMs));',
        replace:
          '      const once = () => this.pool.withKey(this.#key, (c) => this.pool.connector.call(c, request, deadlineMs));\n      const reply = await once().catch((e: { status?: number }) => (e.status === 14 ? once() : Promise.reject(e)));',
      },
    ],
    shortest: {
      commands: 2,
      why: 'a wave of two calls by one client and a stop of its server meanwhile: the retry of the refused call takes the connection once more than the model allows (a retried request served twice takes 3; the shrinker found the 2)',
    },
  },
  {
    name: 'stale-health-cache',
    bugClass: 'health',
    description: 'health answers are cached per client to save RPCs, and never refreshed',
    patches: [
      {
        file: CLIENT,
        find: '  #healthChecks = 0;\n',
        replace: '  #healthChecks = 0;\n  readonly #healthCache = new Map<string, HealthStatus>();\n',
      },
      {
        file: CLIENT,
        find: '    return this.pool.withKey(this.#key, (c) => this.pool.connector.health(c, service, deadlineMs));',
        replace:
          '    const cached = this.#healthCache.get(service);\n    if (cached) return cached;\n    const answer = await this.pool.withKey(this.#key, (c) => this.pool.connector.health(c, service, deadlineMs));\n    this.#healthCache.set(service, answer);\n    return answer;',
      },
    ],
    shortest: {
      commands: 2,
      why: 'two health checks of one address: the second is answered from the cache with no RPC, so the pool counts no reuse (the stale answer itself takes a status change between them: 3; the shrinker found the 2)',
    },
  },
  {
    name: 'sticky-unavailable',
    bugClass: 'server restart',
    description: 'a circuit breaker opens on UNAVAILABLE and never closes: the key stays failed after the server is back',
    patches: [
      { file: CLIENT, find: '  #healthChecks = 0;\n', replace: '  #healthChecks = 0;\n  #breakerOpen = false;\n' },
      {
        file: CLIENT,
        find: '    this.#calls += 1;\n',
        replace: "    this.#calls += 1;\n    if (this.#breakerOpen) throw new GrpcStatusError(14, 'circuit open', 'Call');\n",
      },
      {
        file: CLIENT,
        find: '      this.#failed += 1;\n',
        replace: '      this.#failed += 1;\n      if ((error as { status?: number }).status === 14) this.#breakerOpen = true;\n',
      },
      {
        file: CLIENT,
        find: "import { InvalidOptionsError } from '../pool/errors.js';",
        replace: "import { GrpcStatusError, InvalidOptionsError } from '../pool/errors.js';",
      },
    ],
    shortest: {
      commands: 2,
      why: 'a wave of two calls by one client and a stop of its server meanwhile: the open breaker fails the second call without counting it as a call (the wrong answer after a restart takes 4; the shrinker found the 2)',
    },
  },
  {
    name: 'breaker-fails-next-3',
    bugClass: 'error path',
    description: 'a circuit breaker fails the next 3 calls at once after an UNAVAILABLE, without trying the server',
    patches: [
      { file: CLIENT, find: '  #healthChecks = 0;\n', replace: '  #healthChecks = 0;\n  #breakerCalls = 0;\n' },
      {
        file: CLIENT,
        find: '    this.#calls += 1;\n',
        replace:
          "    this.#calls += 1;\n    if (this.#breakerCalls > 0) {\n      this.#breakerCalls -= 1;\n      this.#failed += 1;\n      throw new GrpcStatusError(14, 'circuit open', 'Call');\n    }\n",
      },
      {
        file: CLIENT,
        find: '      this.#failed += 1;\n      this.#metrics',
        replace:
          '      this.#failed += 1;\n      if ((error as { status?: number }).status === 14) this.#breakerCalls = 3;\n      this.#metrics',
      },
      {
        file: CLIENT,
        find: "import { InvalidOptionsError } from '../pool/errors.js';",
        replace: "import { GrpcStatusError, InvalidOptionsError } from '../pool/errors.js';",
      },
    ],
    shortest: {
      commands: 2,
      why: 'a wave of two calls by one client and a stop of its server meanwhile: the breaker fails the second call without recording it in the metrics (the refused calls after a restart take 4; the shrinker found the 2)',
    },
  },
  {
    name: 'slow-acquire',
    bugClass: 'latency',
    description: 'acquire sleeps 1 s after creating a connection "to let it warm up"',
    patches: [
      {
        file: POOL,
        find: '        if (!created) this.reused += 1;\n',
        replace:
          '        if (!created) this.reused += 1;\n        else await new Promise((resolve) => setTimeout(resolve, 1000));\n',
      },
    ],
    shortest: { commands: 1, why: 'one call creates a connection and waits' },
  },
  {
    name: 'handshake-watchdog-forgets-reset',
    bugClass: 'network faults',
    description:
      'the handshake watchdog notices a stuck attempt but never resets it: after a black hole the key never serves again',
    patches: [
      {
        file: CONNECTOR,
        find: "            stuckSince.delete(stuck);\n            if ('ping' in stuck) resetSocket(stuck);\n            else resetTcp(stuck);\n",
        replace: '            stuckSince.delete(stuck);\n',
      },
    ],
    shortest: { commands: 2, why: 'a connection made during a black hole, then the recovery after heal' },
    blindSpot: { layer: 'simulated', why: NO_GRPC_IN_SIMULATION },
    // Only the parallel property with network faults sees it, and its runs are slow (a run that shows
    // it waits out the 8 s recovery bound): caught at 87 s in one default self-check, at 198 s in
    // another (seed 20261206, 2026-12-06, after a sixth property took its share of the short rounds).
    budgetMs: { live: 300_000 },
    focus: { live: ['pool-linearizable'] },
  },
  {
    name: 'close-leaks-connecting-socket',
    bugClass: 'network faults',
    description:
      'close resets unanswered READY connections but forgets attempts still in their handshake: their sockets stay open',
    patches: [
      {
        file: CONNECTOR,
        find: '    const abandon = [...pendingSessions(subchannels), ...readySessions(subchannels).filter((_, i) => unanswered[i])];',
        replace: '    const abandon = readySessions(subchannels).filter((_, i) => unanswered[i]);',
      },
    ],
    shortest: { commands: 3, why: 'a black hole, a connection made behind it, and a close before the watchdog fires' },
    blindSpot: { layer: 'simulated', why: NO_GRPC_IN_SIMULATION },
    // Caught on the live layer in 60-70 s (docs/properties-and-model.md, the catalogue table): only the parallel property
    // with network faults sees it.
    budgetMs: { live: 150_000 },
    focus: { live: ['pool-linearizable'] },
  },
  {
    name: 'connector-drops-defaults',
    bugClass: 'network faults',
    description:
      "the connector builds channels from the key's options alone, dropping its defaults (keepalive, reconnect backoff)",
    patches: [{ file: CONNECTOR, find: '      ...this.#defaults,\n', replace: '' }],
    // keys-isolate's connector carries a default user agent that its key options never override:
    // one get shows it missing at the server (the self-check's shrunk case since 2026-12-06;
    // pool-linearizable needs 3: a fault or a stop, a connection living through it, the recovery).
    shortest: {
      commands: 1,
      why: "one keys-isolate get: the server sees the channel without the connector's default user agent",
    },
    blindSpot: { layer: 'simulated', why: NO_GRPC_IN_SIMULATION },
    // Caught live by keys-isolate in 3-23 s and by pool-linearizable (network faults) in 60-70 s.
    budgetMs: { live: 150_000 },
  },
  {
    name: 'keys-ignore-options',
    bugClass: 'keys and isolation',
    description: 'channel options are left out of the pool key, so callers with other options share a connection',
    patches: [
      {
        file: 'pool/pool-key.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
        find: '    id: `${normalised}|${credentialsId}|${JSON.stringify(channelOptions)}`,',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
        replace: '    id: `${normalised}|${credentialsId}`,',
      },
    ],
    shortest: { commands: 2, why: 'two gets of one address with different options (keys-isolate property)' },
  },
  {
    name: 'connector-drops-backoff-options',
    bugClass: 'connectivity',
    description:
      "the connector strips the key's reconnect backoff options (grpc.*_reconnect_backoff_ms), so channels retry on grpc-js's defaults (1 s, up to 120 s)",
    patches: [
      {
        file: CONNECTOR,
        find: '      ...target.channelOptions,\n',
        replace:
          "      // Reconnect pacing is the connector's business, not the caller's.\n      ...Object.fromEntries(Object.entries(target.channelOptions).filter(([name]) => !name.includes('reconnect_backoff'))),\n",
      },
    ],
    shortest: ONE_SCENARIO,
    focus: CONNECTIVITY_FOCUS,
    blindSpot: { layer: 'simulated', why: NO_CHANNELS_IN_SIMULATION },
  },
  {
    name: 'connector-reconnects-on-idle',
    bugClass: 'connectivity',
    description:
      'the connector keeps connections warm: whenever a channel falls IDLE it asks it to connect again, with no call pending',
    patches: [
      {
        file: CONNECTOR,
        find: '    client.getChannel().getConnectivityState(true);\n',
        replace:
          '    client.getChannel().getConnectivityState(true);\n    // Keep the connection warm: whenever the channel falls idle, connect again at once.\n    const keepWarm = (state: grpc.connectivityState): void =>\n      client.getChannel().watchConnectivityState(state, Number.POSITIVE_INFINITY, () => {\n        const now = client.getChannel().getConnectivityState(true);\n        if (now !== grpcJs().connectivityState.SHUTDOWN) keepWarm(now);\n      });\n    keepWarm(client.getChannel().getConnectivityState(false));\n',
      },
    ],
    shortest: ONE_SCENARIO,
    focus: CONNECTIVITY_FOCUS,
    blindSpot: { layer: 'simulated', why: NO_CHANNELS_IN_SIMULATION },
  },
  {
    name: 'connector-waits-for-ready-always',
    bugClass: 'connectivity',
    description:
      'the connector sets wait-for-ready on every call to ride out restarts, so calls to a server that is down wait for their deadline instead of failing fast',
    patches: [
      {
        file: CONNECTOR,
        find: 'new (grpcJs().Metadata)({ waitForReady: request.waitForReady === true }),',
        replace: 'new (grpcJs().Metadata)({ waitForReady: true }),',
      },
    ],
    shortest: ONE_SCENARIO,
    focus: CONNECTIVITY_FOCUS,
    blindSpot: { layer: 'simulated', why: NO_CHANNELS_IN_SIMULATION },
  },
  {
    name: 'client-drops-wait-for-ready',
    bugClass: 'connectivity',
    description:
      "the client passes a call's deadline on but not its wait-for-ready option, so a wait-for-ready call fails fast while the server is down",
    patches: [
      {
        file: CLIENT,
        find: '    const request = { ...input, requestId: input.requestId ?? randomUUID(), waitForReady: options.waitForReady === true };',
        replace: '    const request = { ...input, requestId: input.requestId ?? randomUUID() };',
      },
    ],
    shortest: ONE_SCENARIO,
    focus: CONNECTIVITY_FOCUS,
    blindSpot: { layer: 'simulated', why: NO_CHANNELS_IN_SIMULATION },
  },
  {
    name: 'close-skips-unready-channels',
    bugClass: 'connectivity',
    description:
      'close closes a channel only when it is READY ("nothing else holds a connection"), so a call queued on a channel still connecting waits for its deadline',
    patches: [
      {
        file: CONNECTOR,
        find: '    // The health stub rides on the same channel: closing the channel once closes both.\n    connection.client.close();\n',
        replace:
          '    // Only a READY channel holds a connection worth closing.\n    if (channel.getConnectivityState(false) === grpcJs().connectivityState.READY) connection.client.close();\n',
      },
    ],
    shortest: ONE_SCENARIO,
    focus: CONNECTIVITY_FOCUS,
    blindSpot: { layer: 'simulated', why: NO_CHANNELS_IN_SIMULATION },
  },
  {
    name: 'message-limit-in-kib',
    bugClass: 'transport limits',
    description:
      "the connector's defaults spell gRPC's 4 MB receive limit as 4 * 1024 (KiB for bytes): replies over 4 KiB fail RESOURCE_EXHAUSTED",
    patches: [
      {
        file: CONNECTOR,
        find: "  'grpc.keepalive_permit_without_calls': 1,\n});",
        replace:
          "  'grpc.keepalive_permit_without_calls': 1,\n  // gRPC's default receive limit, said explicitly: 4 MB.\n  'grpc.max_receive_message_length': 4 * 1024,\n});",
      },
    ],
    shortest: { commands: 1, why: 'one transport-limits case with a reply over 4 KiB' },
    blindSpot: {
      layer: 'simulated',
      why: 'the simulated network passes messages as objects: no encoding, no size limit',
    },
  },
  {
    name: 'connector-refuses-over-8-streams',
    bugClass: 'transport limits',
    description:
      'the connector enforces a stream limit of its own, failing a call RESOURCE_EXHAUSTED when its channel already has 8 in flight instead of letting it wait for a stream',
    patches: [
      {
        file: CONNECTOR,
        find: 'let HealthClientCtor: HealthClientConstructor | undefined;',
        replace:
          'let HealthClientCtor: HealthClientConstructor | undefined;\nconst callsInFlight = new WeakMap<GrpcConnection, number>();',
      },
      {
        file: CONNECTOR,
        find: '  call(connection: GrpcConnection, request: UnaryRequest, deadlineMs: number): Promise<UnaryReply> {\n    return new Promise((resolve, reject) => {\n',
        replace:
          "  call(connection: GrpcConnection, request: UnaryRequest, deadlineMs: number): Promise<UnaryReply> {\n    // Servers commonly allow 8 streams at once: refuse what would exceed it.\n    const inFlight = callsInFlight.get(connection) ?? 0;\n    if (inFlight >= 8) return Promise.reject(new GrpcStatusError(8, 'too many calls in flight', 'Call'));\n    callsInFlight.set(connection, inFlight + 1);\n    return new Promise<UnaryReply>((resolve, reject) => {\n",
      },
      {
        file: CONNECTOR,
        find: '    });\n  }\n\n  health(',
        replace:
          '    }).finally(() => callsInFlight.set(connection, (callsInFlight.get(connection) ?? 1) - 1));\n  }\n\n  health(',
      },
    ],
    shortest: { commands: 1, why: 'one transport-limits case with more than 8 calls at once' },
    blindSpot: { layer: 'simulated', why: NO_GRPC_IN_SIMULATION },
  },
  // Issue 19's dimensions: connect failures, late answers, metrics against the history, load shapes, leaks.
  {
    name: 'connect-failures-uncounted',
    bugClass: 'connect failures',
    description: 'a refused connect is turned into ConnectError but not counted in stats().connectFailures',
    patches: [{ file: POOL, find: '      this.connectFailures += 1;\n', replace: '' }],
    shortest: {
      commands: 2,
      why: 'a server down and a request to its address refused at connect (the counters are read after every command); one command cannot both stop the server and be refused',
    },
    blindSpot: { layer: 'live', why: NO_CONNECT_FAILURE_LIVE },
  },
  {
    name: 'connect-failure-remembered',
    bugClass: 'connect failures',
    description:
      'a key whose connect failed is refused for 30 s without trying (to spare a down server a connect storm), so it does not recover when its server is back',
    patches: [
      {
        file: POOL,
        find: '  private connectFailures = 0;\n',
        replace: '  private connectFailures = 0;\n  readonly #failedAt = new Map<string, number>();\n',
      },
      {
        file: POOL,
        find: "    this.assertOpen('get a connection');\n    let connection: Connection;\n",
        replace:
          "    this.assertOpen('get a connection');\n    const failedAt = this.#failedAt.get(key.id);\n    if (failedAt !== undefined && performance.now() - failedAt < 30_000) {\n      throw new ConnectError(key.address, new Error('connect failed less than 30 s ago'));\n    }\n    let connection: Connection;\n",
      },
      {
        file: POOL,
        find: '      this.connectFailures += 1;\n',
        replace: '      this.connectFailures += 1;\n      this.#failedAt.set(key.id, performance.now());\n',
      },
    ],
    shortest: {
      commands: 2,
      why: "a server stopped and a get of it refused: pool-linearizable's recovery check at the end (server back, one call) is refused too (sequentially 4: stop, call, restart, call)",
    },
    blindSpot: { layer: 'live', why: NO_CONNECT_FAILURE_LIVE },
  },
  {
    name: 'client-ignores-call-deadline',
    bugClass: 'deadlines',
    description: "a call's own deadline is ignored and the client's default used, so a late answer arrives as a success",
    patches: [
      {
        file: CLIENT,
        find: '    const deadlineMs = checkDeadline(options.deadlineMs ?? this.#deadlineMs);\n    const request =',
        replace: '    const deadlineMs = checkDeadline(this.#deadlineMs);\n    const request =',
      },
    ],
    shortest: { commands: 1, why: 'one call whose server answers after its deadline' },
  },
  {
    name: 'call-deadline-in-seconds',
    bugClass: 'deadlines',
    description: 'the connector reads the deadline as seconds where the pool passes ms, so a call waits 1000 times too long',
    patches: [
      {
        file: CONNECTOR,
        find: '        { deadline: Date.now() + deadlineMs },\n        (error, response) => {\n          // grpc-js answers',
        replace:
          '        { deadline: Date.now() + deadlineMs * 1000 },\n        (error, response) => {\n          // grpc-js answers',
      },
    ],
    shortest: { commands: 1, why: 'one call whose server answers after its deadline' },
    blindSpot: { layer: 'simulated', why: NO_GRPC_IN_SIMULATION },
  },
  {
    name: 'latency-clock-after-acquire',
    bugClass: 'stats and metrics',
    description:
      "a call's latency is timed from when the pool handed over the connection, leaving out the connect and the wait for the key's lock",
    patches: [
      {
        file: CLIENT,
        find: '    const started = performance.now();\n    try {\n      const reply = await this.pool.withKey(this.#key, (c) => this.pool.connector.call(c, request, deadlineMs));',
        replace:
          '    let started = performance.now();\n    try {\n      const reply = await this.pool.withKey(this.#key, (c) => {\n        started = performance.now();\n        return this.pool.connector.call(c, request, deadlineMs);\n      });',
      },
    ],
    shortest: { commands: 1, why: 'one call that connects: its recorded latency is shorter than the connect and the call' },
  },
  {
    name: 'active-clients-per-call',
    bugClass: 'stats and metrics',
    description: 'activeClients counts calls in flight, not clients with a call in flight (start and finish on every call)',
    patches: [
      {
        file: CLIENT,
        find: '    if (this.#callsInFlight++ === 0) this.#metrics?.clientStarted();\n',
        replace: '    this.#callsInFlight++;\n    this.#metrics?.clientStarted();\n',
      },
      {
        file: CLIENT,
        find: '      if (--this.#callsInFlight === 0) this.#metrics?.clientFinished();\n',
        replace: '      --this.#callsInFlight;\n      this.#metrics?.clientFinished();\n',
      },
    ],
    shortest: { commands: 1, why: 'one wave of two calls by one client to one address (a wave is one operation)' },
  },
  {
    name: 'metrics-merge-replaces-histogram',
    bugClass: 'stats and metrics',
    description:
      "merging another thread's latency histogram replaces this thread's instead of adding to it, so percentiles lose the owner's calls",
    patches: [
      {
        file: 'metrics/load-test-metrics.ts',
        find: '    this.#histogram.add(decodeHistogram(encoded));',
        replace: '    this.#histogramMade = decodeHistogram(encoded);',
      },
    ],
    shortest: {
      commands: 0,
      why: "no call at all: the run's metrics shared with two other threads, whose records, merged, lose the first thread's",
    },
  },
  {
    name: 'ramp-stage-not-awaited',
    bugClass: 'load shapes',
    description: "a ramp starts its next stage without waiting for the last (a lost await), and closes each stage's tally early",
    patches: [
      {
        file: 'load/shapes.ts',
        find: '    await Promise.all(\n      Array.from({ length: clients }, async (_, c) => {',
        replace: '    void Promise.all(\n      Array.from({ length: clients }, async (_, c) => {',
      },
    ],
    shortest: { commands: 1, why: 'one ramp load op' },
  },
  {
    name: 'slow-call-timer-leaked-on-failure',
    bugClass: 'leak',
    description:
      'a 60 s timer that counts a call as slow is cleared when the call succeeds and forgotten when it fails, so every failed call leaves a timer holding the process',
    patches: [
      {
        file: CLIENT,
        find: '    const started = performance.now();\n    try {\n',
        replace:
          '    const started = performance.now();\n    const slowWarning = setTimeout(() => {\n      this.#slowCalls += 1;\n    }, 60_000);\n    try {\n',
      },
      { file: CLIENT, find: '  #callsInFlight = 0;\n', replace: '  #callsInFlight = 0;\n  #slowCalls = 0;\n' },
      {
        file: CLIENT,
        find: '      this.#succeeded += 1;\n',
        replace: '      this.#succeeded += 1;\n      clearTimeout(slowWarning);\n',
      },
    ],
    shortest: { commands: 1, why: 'one failing call' },
  },
  {
    name: 'env-dispose-forgets-custom-pools',
    bugClass: 'leak',
    description:
      "TestEnvironment's dispose closes its own pool and forgets the pools it made with newPool, so their channels and sockets stay open",
    patches: [
      {
        file: 'env/test-environment.ts',
        find: '    await Promise.all([...this.#pools].map((p) => p.close()));',
        replace: '    await this.pool.close();',
      },
    ],
    shortest: {
      commands: 3,
      why: 'a pool made with newPool, a client on it that calls (a pool connects on its first call), and the dispose',
    },
    blindSpot: {
      layer: 'simulated',
      why: 'TestEnvironment starts a real server and grpc-js pools: only environment-lifecycle on the live layer runs it',
    },
  },
  ...KEYS_VARIANTS,
];

export function findVariant(name: string): BrokenVariant | undefined {
  return VARIANTS.find((v) => v.name === name);
}
