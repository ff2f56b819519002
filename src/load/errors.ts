/** A load pattern was given parameters it cannot run with. */
export class InvalidLoadPatternError extends Error {
  readonly code = 'ERR_LOAD_PATTERN';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidLoadPatternError';
  }
}

export function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidLoadPatternError(`${name} must be a whole number >= 1; got ${value}`);
}

export function requirePositive(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidLoadPatternError(`${name} must be a positive number; got ${value}`);
}
