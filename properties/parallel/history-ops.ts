import type { PoolInput, PoolOutput } from '../../models/pool-spec.js';
import type { Operation } from '../../src/harness/linearizability/index.js';
import { HarnessFailure, ModelDisagreement } from '../outcomes.js';
import type { ParallelRun } from './parallel-run.js';

export type PoolOperation = Operation<PoolInput, PoolOutput>;

/** A status, `ok`, `true`/`false`, or a health answer as the model's output. */
function asOutput(outcome: string): PoolOutput {
  if (outcome === 'true') return true;
  if (outcome === 'false') return false;
  return outcome as PoolOutput;
}

/**
 * The run's history as operations for the checker. A call or health check becomes acquire, rpc and
 * release (see `models/pool-spec.ts`), each over the interval in which it must have happened;
 * closes seen at the seam become `connClosed`; the servers' accepted counts end the history.
 * Anything the model has no words for (an unexpected error) fails the run here, by name.
 */
export function toOperations(run: ParallelRun, accepted: readonly number[], endTime: number): PoolOperation[] {
  const ops: PoolOperation[] = [];
  let id = 1;
  const push = (client: string, input: PoolInput, output: PoolOutput | undefined, call: number, ret: number | undefined) => {
    ops.push({
      id: id++,
      client,
      input,
      output: ret === undefined ? undefined : output,
      call,
      ret: ret ?? Number.POSITIVE_INFINITY,
    });
  };
  const faulted = run.backend.addresses.map(() => false);
  for (const r of run.ops) {
    if (r.outcome?.startsWith('unexpected:') && r.client === 'nemesis') {
      throw new HarnessFailure(`the nemesis could not ${r.f}(${r.i ?? ''}): ${r.outcome.slice('unexpected:'.length)}`);
    }
    if (r.outcome?.startsWith('unexpected:')) {
      throw new ModelDisagreement(`${r.client} ${r.f}(${r.i ?? ''}) failed with an error the pool must not raise: ${r.outcome}`);
    }
    const i = r.i ?? 0;
    const out = r.outcome === undefined ? undefined : asOutput(r.outcome);
    switch (r.f) {
      case 'call':
      case 'health': {
        if (r.conn === undefined || r.acquiredAt === undefined) {
          push(r.client, { f: 'acquire', i }, out, r.call, r.ret);
          break;
        }
        push(r.client, { f: 'acquire', i }, { conn: r.conn, created: r.made.includes(r.conn) }, r.call, r.acquiredAt);
        const rpc: PoolInput =
          r.f === 'call'
            ? { f: 'rpc', i, conn: r.conn, kind: 'call', failCode: r.failCode, ...(r.late ? { late: true } : {}) }
            : { f: 'rpc', i, conn: r.conn, kind: 'health' };
        push(r.client, rpc, r.rpcOutcome === undefined ? undefined : asOutput(r.rpcOutcome), r.acquiredAt, r.rpcDoneAt);
        if (r.rpcDoneAt !== undefined) push(r.client, { f: 'release', i, conn: r.conn }, 'ok', r.rpcDoneAt, r.ret);
        if (r.ret !== undefined && r.outcome !== r.rpcOutcome) {
          throw new ModelDisagreement(
            `${r.client} ${r.f}(${i}): the connector answered ${r.rpcOutcome}, but the caller got ${r.outcome} (the pool changed the result)`,
          );
        }
        break;
      }
      case 'stats':
        push(r.client, { f: 'stats' }, r.stats as unknown as PoolOutput, r.call, r.ret);
        break;
      case 'close':
        push(r.client, { f: 'close' }, out, r.call, r.ret);
        break;
      case 'add':
      case 'remove':
        push(r.client, { f: r.f, i }, out, r.call, r.ret);
        break;
      case 'serving':
        push(r.client, { f: 'serving', i, status: r.status ?? 'SERVING' }, 'ok', r.call, r.ret);
        break;
      case 'stop':
      case 'kill':
      case 'restart':
      case 'heal':
        faulted[i] = true;
        push(r.client, { f: r.f, i }, 'ok', r.call, r.ret);
        break;
      case 'fault':
        faulted[i] = true;
        push(r.client, { f: 'fault', i, kind: r.faultKind ?? 'reset' }, 'ok', r.call, r.ret);
        break;
    }
  }
  for (const c of run.seen.connects) {
    const i = run.backend.addresses.indexOf(c.address);
    push(`conn#${c.conn}`, { f: 'connect', i }, { conn: c.conn }, c.call, c.ret);
  }
  for (const [k, c] of run.seen.failedConnects.entries()) {
    const i = run.backend.addresses.indexOf(c.address);
    push(`refused#${k}`, { f: 'connect', i }, 'failed', c.call, c.ret);
  }
  for (const c of run.seen.closes) {
    const i = run.backend.addresses.indexOf(c.address);
    push(`conn#${c.conn}`, { f: 'connClosed', i, conn: c.conn }, 'ok', c.call, c.ret);
  }
  push('ledger', { f: 'ledger', accepted, faulted, exact: run.backend.layer === 'simulated' }, 'ok', endTime, endTime);
  return ops;
}
