import { describe, expect, it } from 'vitest';
import * as m from './pool-model.js';

describe('pool model', () => {
  it('adds a key once, and remove says whether it was there', () => {
    const s = m.initialModel(2);
    expect(m.add(s, 0)).toEqual(['ok']);
    m.added(s, 0, 'ok');
    expect(m.add(s, 0)).toEqual(['ok']);
    m.added(s, 0, 'ok');
    expect(s.created).toEqual({ min: 1, max: 1 });
    expect(m.liveKeysRange(s)).toEqual({ min: 1, max: 1 });
    expect(m.remove(s, 0)).toBe(true);
    expect(m.remove(s, 0)).toBe(false);
    expect(s.closed).toEqual({ min: 1, max: 1 });
    expect(m.maxOpenConnections(s, 0)).toBe(0);
  });

  it('counts connect failures: one per refused add or request, at least one and at most one each for a wave', () => {
    const s = m.initialModel(2);
    m.serverDown(s, 0, 'killed');
    m.added(s, 0, 'connect-failed');
    m.requestSettled(s, 0, 'connect-failed');
    // A refusal on a connection the key already had is not a connect failure.
    m.requestSettled(s, 0, 'status:14');
    expect(s.connectFailures).toEqual({ min: 2, max: 2 });
    const running = m.waveStarted(s, [0, 1], 4);
    // While it runs, any of its 4 requests may be refused at connect.
    expect(s.connectFailures).toEqual({ min: 2, max: 6 });
    m.waveSettled(s, running.id, 1, 3);
    expect(s.connectFailures).toEqual({ min: 3, max: 5 });
    const clean = m.waveStarted(s, [1], 2);
    m.waveSettled(s, clean.id, 2, 0);
    expect(s.connectFailures).toEqual({ min: 3, max: 5 });
    // A closed pool refuses before connecting: nothing counted.
    m.closePool(s);
    m.added(s, 0, 'pool-closed');
    m.requestSettled(s, 0, 'pool-closed');
    expect(s.connectFailures).toEqual({ min: 3, max: 5 });
  });

  it('answers calls by server phase, and allows UNAVAILABLE after a restart only if a request was refused meanwhile', () => {
    const s = m.initialModel(1);
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok']);
    expect(m.allowedCallOutcomes(s, 0, 8)).toEqual(['status:8']);
    m.serverDown(s, 0, 'killed');
    // No key: the pool's connect may be refused before any call is made (an eager connector's).
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['status:14', 'connect-failed']);
    m.serverRestarted(s, 0);
    // No key, so no channel that could have backed off on its own.
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok']);
    m.added(s, 0, 'ok');
    m.serverDown(s, 0, 'stopped');
    // The key has its connection: the call is made on it and refused, never a connect failure.
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['status:14']);
    m.serverRestarted(s, 0);
    // A channel existed while the server was down: it may be backing off (found by the fuzzer).
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok', 'status:14']);
    m.requestSettled(s, 0, 'ok');
    m.remove(s, 0);
    // A key made while the server is down backs off too (found by the fuzzer: stop, add, restart, wave).
    m.serverDown(s, 0, 'killed');
    expect(m.add(s, 0)).toEqual(['ok', 'connect-failed']);
    m.added(s, 0, 'ok');
    m.serverRestarted(s, 0);
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok', 'status:14']);
    m.serverDown(s, 0, 'stopped');
    m.requestSettled(s, 0, 'status:14');
    m.serverRestarted(s, 0);
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok', 'status:14']);
    m.requestSettled(s, 0, 'ok');
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['ok']);
  });

  it('leaves the key absent after a failed connect, and asks a late call to end DEADLINE_EXCEEDED', () => {
    const s = m.initialModel(1);
    m.serverDown(s, 0, 'stopped');
    m.requestSettled(s, 0, 'connect-failed');
    expect(s.addresses[0]?.key).toBe('no');
    expect(s.created).toEqual({ min: 0, max: 0 });
    expect(s.reused).toEqual({ min: 0, max: 0 });
    m.serverRestarted(s, 0);
    expect(m.allowedCallOutcomes(s, 0, 0, true)).toEqual(['status:4']);
    expect(m.allowedCallOutcomes(s, 0, 8, true)).toEqual(['status:4']);
  });

  it('reports health as set, and refuses everything once the pool is closed', () => {
    const s = m.initialModel(1);
    m.setServing(s, 0, 'NOT_SERVING');
    expect(m.allowedHealthOutcomes(s, 0)).toEqual(['NOT_SERVING']);
    m.added(s, 0, 'ok');
    m.closePool(s);
    expect(m.allowedHealthOutcomes(s, 0)).toEqual(['pool-closed']);
    expect(m.allowedCallOutcomes(s, 0, 0)).toEqual(['pool-closed']);
    expect(m.add(s, 0)).toEqual(['pool-closed']);
    expect(s.closed).toEqual({ min: 1, max: 1 });
  });

  it('lets a running wave re-create a removed key, and allows failures only where it was disturbed', () => {
    const s = m.initialModel(2);
    const w = m.waveStarted(s, [0, 1], 4);
    expect(s.created).toEqual({ min: 0, max: 2 });
    expect(m.remove(s, 0)).toBe('maybe');
    expect(s.addresses[0]?.key).toBe('maybe');
    expect(s.created).toEqual({ min: 0, max: 3 });
    m.serverDown(s, 1, 'killed');
    expect(m.allowedWaveOutcomes(w, 0, 0)).toEqual(['ok']);
    expect(m.allowedWaveOutcomes(w, 1, 0)).toEqual(['ok', 'status:14', 'status:1', 'connect-failed']);
    m.waveSettled(s, w.id, 4);
    // Both addresses might have been created by the wave, one of them twice (the remove): 4 - 3 reused at least.
    expect(s.reused).toEqual({ min: 1, max: 4 });
    expect(s.waves.size).toBe(0);
    expect(() => m.waveSettled(s, w.id, 4)).toThrow(/no running wave/);
  });
});
