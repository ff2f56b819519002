import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ClientClosedError, InvalidDeadlineError } from '../client/errors.js';
import { InvalidMetricError } from '../metrics/errors.js';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { ConnectError, GrpcStatusError, InvalidAddressError, PoolClosedError, statusName } from './errors.js';

// The messages are part of the interface: they must say what was wrong and what to do.
describe('error messages', () => {
  it('pool errors', () => {
    expect(new PoolClosedError('add an address').message).toBe(
      'cannot add an address: the connection pool is closed (create a new pool)',
    );
    expect(new InvalidAddressError('x', 'it is not host:port').message).toBe(
      'invalid address "x": it is not host:port (expected host:port, e.g. 127.0.0.1:50051 or [::1]:50051)',
    );
    const cause = new Error('refused');
    const connect = new ConnectError('127.0.0.1:1', cause);
    expect(connect.message).toBe('could not connect to 127.0.0.1:1: refused');
    expect(connect.cause).toBe(cause);
    expect(new ConnectError('h:1', 'text').message).toBe('could not connect to h:1: text');
  });

  it('gRPC failures keep their status and name it', () => {
    const e = new GrpcStatusError(14, 'Connection dropped', 'Call');
    expect(e).toMatchObject({ code: 'ERR_GRPC_STATUS', status: 14, details: 'Connection dropped', name: 'GrpcStatusError' });
    expect(e.message).toBe('Call failed with gRPC status 14 (UNAVAILABLE): Connection dropped');
    expect(statusName(0)).toBe('OK');
    expect(statusName(16)).toBe('UNAUTHENTICATED');
    expect(new GrpcStatusError(99, 'odd', 'Health.Check').message).toBe('Health.Check failed with gRPC status 99 (UNKNOWN): odd');
  });

  it('names every gRPC status code as grpc-js does (an independent copy of the spec)', () => {
    const codes = Object.values(grpc.status).filter((v): v is number => typeof v === 'number');
    expect(codes).toHaveLength(17);
    for (const code of codes) expect(statusName(code), `status ${code}`).toBe(grpc.status[code]);
  });

  it('client and metrics errors', () => {
    expect(new ClientClosedError('call').message).toBe('cannot call: the client is closed (create a new client)');
    expect(new InvalidDeadlineError(-1).message).toBe('deadlineMs must be a positive, finite number of milliseconds; got -1');
    expect(() => LoadTestMetrics.attach(new ArrayBuffer(32) as unknown as SharedArrayBuffer)).toThrow(
      new InvalidMetricError(
        'LoadTestMetrics needs the SharedArrayBuffer of another LoadTestMetrics (32 bytes); got an ArrayBuffer of 32 bytes',
      ),
    );
    expect(() => LoadTestMetrics.attach(new SharedArrayBuffer(8))).toThrow(/got a SharedArrayBuffer of 8 bytes$/);
    expect(() => LoadTestMetrics.attach('x' as unknown as SharedArrayBuffer)).toThrow(/got string$/);
  });
});
