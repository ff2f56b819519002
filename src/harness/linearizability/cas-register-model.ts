import type { LinearizabilityModel } from './model.js';

/** What a client asks of a compare-and-set register. */
export type RegisterInput =
  | { readonly kind: 'read' }
  | { readonly kind: 'write'; readonly value: number }
  | { readonly kind: 'cas'; readonly from: number; readonly to: number };

/** What the register answered (`value: null`: the register holds nothing yet). */
export type RegisterOutput =
  | { readonly kind: 'read'; readonly value: number | null }
  | { readonly kind: 'write' }
  | { readonly kind: 'cas'; readonly ok: boolean };

/** The register's value; null while nothing was written. */
export type RegisterState = number | null;

const show = (v: RegisterState) => (v === null ? 'nil' : String(v));

/**
 * A single compare-and-set register, initially empty. An unknown outcome allows any answer: a read
 * changes nothing, a write takes effect, a cas takes effect exactly when it could have succeeded
 * (its failing, or never happening, is the same as being placed last, which the checker also tries).
 */
export const casRegisterModel: LinearizabilityModel<RegisterState, RegisterInput, RegisterOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.kind) {
      case 'read':
        if (output === undefined || (output.kind === 'read' && output.value === state)) return state;
        return undefined;
      case 'write':
        return input.value;
      case 'cas': {
        const matches = state === input.from;
        if (output === undefined) return matches ? input.to : state;
        if (output.kind !== 'cas' || output.ok !== matches) return undefined;
        return matches ? input.to : state;
      }
    }
  },
  hash: show,
  describeState: (state) => `value ${show(state)}`,
  describeOperation(input, output) {
    const call =
      input.kind === 'read' ? 'read()' : input.kind === 'write' ? `write(${input.value})` : `cas(${input.from}, ${input.to})`;
    if (output === undefined) return `${call} -> ?`;
    const answer = output.kind === 'read' ? show(output.value) : output.kind === 'cas' ? (output.ok ? 'ok' : 'fail') : 'ok';
    return `${call} -> ${answer}`;
  },
};
