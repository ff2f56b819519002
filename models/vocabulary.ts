/**
 * The suite's words, each spelled once: the layers a property runs on, the network faults (with
 * what each does, which the model and the simulated network read), the server actions and the
 * operations a program is made of. Pure data: no I/O, nothing from src/.
 *
 * Adding a network fault kind: its entry here (name and effect), its toxic on the live proxy
 * (`properties/live-backend.ts`, FAULT_TOXICS). The model, the generators, the program text, the
 * simulated network and the failure files take it from here; the simulated network needs its own
 * code only for an effect this table cannot say.
 */

/** Where a property runs: real servers on loopback, or the in-memory network. */
export const LAYERS = ['live', 'simulated'] as const;
export type Layer = (typeof LAYERS)[number];

/** What a network fault does while it holds, as the model and the simulated network read it. */
export interface FaultEffect {
  /** One line: what the fault is. */
  readonly description: string;
  /** Whether requests still reach the server (answered as usual, if later). */
  readonly reachable: boolean;
  /** The gRPC status a call in flight (or made) while it holds fails with, where not reachable. */
  readonly failsWith?: number;
  /** Whether open connections are dropped at once (a reset), rather than left hanging (a black hole). */
  readonly dropsConnections?: boolean;
}

/** gRPC status codes the vocabulary names. */
export const STATUS = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, UNAVAILABLE: 14 } as const;

/** The network faults between the pool and one server. */
export const NETWORK_FAULTS = {
  reset: {
    description: 'every connection reset (RST) while it holds',
    reachable: false,
    failsWith: STATUS.UNAVAILABLE,
    dropsConnections: true,
  },
  blackhole: {
    description: 'bytes swallowed, sockets left open: calls time out',
    reachable: false,
    failsWith: STATUS.DEADLINE_EXCEEDED,
  },
  latency: { description: 'added latency (50 ms, jitter 20 ms on the live proxy)', reachable: true },
} as const satisfies Record<string, FaultEffect>;

export type NetworkFault = keyof typeof NETWORK_FAULTS;
export const NETWORK_FAULT_NAMES = Object.keys(NETWORK_FAULTS) as readonly NetworkFault[];

export function faultEffect(kind: NetworkFault): FaultEffect {
  return NETWORK_FAULTS[kind];
}

/** What the nemesis can do to a server itself. */
export const SERVER_ACTIONS = ['stop', 'kill', 'restart'] as const;
export type ServerAction = (typeof SERVER_ACTIONS)[number];

export const SERVING_STATES = ['SERVING', 'NOT_SERVING'] as const;
export type Serving = (typeof SERVING_STATES)[number];

/** What a logical client of a parallel program does to the pool. */
export const CLIENT_OPERATIONS = ['add', 'remove', 'call', 'wave', 'health', 'stats', 'close'] as const;
export type ClientOperation = (typeof CLIENT_OPERATIONS)[number];
