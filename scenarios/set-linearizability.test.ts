import { describe, expect, it } from 'vitest';
import { checkSetHistory, type SetOp } from './set-linearizability.js';

const add = (invokedAt: number, returnedAt: number): SetOp => ({ kind: 'add', invokedAt, returnedAt });
const remove = (invokedAt: number, returnedAt: number, removed: boolean): SetOp => ({
  kind: 'remove',
  invokedAt,
  returnedAt,
  removed,
});

// The checker on hand-built histories, valid and invalid.
describe('checkSetHistory', () => {
  it('accepts a sequential history and the order it implies', () => {
    const ops = [add(1, 2), remove(3, 4, true), remove(5, 6, false), add(7, 8)];
    expect(checkSetHistory(ops, { initiallyPresent: false, finallyPresent: true })).toEqual({
      valid: true,
      order: [0, 1, 2, 3],
      maxCreations: 2,
    });
  });

  it('accepts two overlapping removes when only one returned true', () => {
    const ops = [add(1, 2), remove(3, 6, true), remove(4, 5, false)];
    expect(checkSetHistory(ops, { initiallyPresent: false, finallyPresent: false }).valid).toBe(true);
  });

  it('rejects two removes returning true with a single add', () => {
    const ops = [add(1, 2), remove(3, 6, true), remove(4, 5, true)];
    expect(checkSetHistory(ops, { initiallyPresent: false, finallyPresent: false })).toMatchObject({ valid: false });
  });

  it('rejects a remove that returned false although an add had returned and nothing else ran', () => {
    expect(checkSetHistory([add(1, 2), remove(3, 4, false)], { initiallyPresent: false, finallyPresent: false }).valid).toBe(
      false,
    );
  });

  it('accepts that remove, when it overlaps the add', () => {
    expect(checkSetHistory([add(1, 4), remove(2, 3, false)], { initiallyPresent: false, finallyPresent: true }).valid).toBe(true);
  });

  it('rejects a final state no order reaches', () => {
    const ops = [add(1, 2), remove(3, 4, true)];
    expect(checkSetHistory(ops, { initiallyPresent: false, finallyPresent: true })).toMatchObject({
      valid: false,
      reason: /finally present/,
    });
  });

  it('gives the most creations any legal order allows', () => {
    // Two overlapping adds create the key once, whatever the order.
    expect(checkSetHistory([add(1, 3), add(2, 4)], { initiallyPresent: false, finallyPresent: true })).toMatchObject({
      maxCreations: 1,
    });
    // An add overlapping a remove that returned true: add first (no creation, it was present), or
    // remove first then add (a creation): at most one.
    const ops = [add(1, 4), remove(2, 3, true)];
    expect(checkSetHistory(ops, { initiallyPresent: true, finallyPresent: true })).toMatchObject({
      valid: true,
      maxCreations: 1,
    });
    expect(checkSetHistory(ops, { initiallyPresent: true, finallyPresent: false })).toMatchObject({
      valid: true,
      maxCreations: 0,
    });
  });
});
