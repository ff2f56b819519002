/**
 * Sizes of the load-test messages on the wire (proto/loadtest.proto), computed from the protobuf
 * encoding rules, not by the encoder under test. proto3 lets an encoder write a field that holds its
 * default value (0, empty) or leave it out, so each size is a range: the smallest and the largest
 * encoding a conforming encoder may produce.
 */

/** Bytes of `n` as a protobuf varint. */
export function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 128; v = Math.floor(v / 128)) size += 1;
  return size;
}

/** A length-delimited field (string, bytes) of field number below 16: one tag byte, its length, its bytes. */
function lengthDelimited(length: number): { min: number; max: number } {
  const written = 1 + varintSize(length) + length;
  return { min: length === 0 ? 0 : written, max: written };
}

/** A uint32 field of field number below 16. */
function uint32(value: number): { min: number; max: number } {
  const written = 1 + varintSize(value);
  return { min: value === 0 ? 0 : written, max: written };
}

function sum(parts: ReadonlyArray<{ min: number; max: number }>): { min: number; max: number } {
  return parts.reduce((a, b) => ({ min: a.min + b.min, max: a.max + b.max }), { min: 0, max: 0 });
}

/** `CallRequest { request_id = 1; payload = 2; delay_ms = 3; fail_code = 4 }`. */
export function requestSize(r: { requestIdBytes: number; payloadBytes: number; delayMs: number; failCode: number }): {
  min: number;
  max: number;
} {
  return sum([lengthDelimited(r.requestIdBytes), lengthDelimited(r.payloadBytes), uint32(r.delayMs), uint32(r.failCode)]);
}

/** `CallResponse { request_id = 1; payload = 2; times_seen = 3; server_id = 4 }`. */
export function responseSize(r: { requestIdBytes: number; payloadBytes: number; timesSeen: number; serverIdBytes: number }): {
  min: number;
  max: number;
} {
  return sum([
    lengthDelimited(r.requestIdBytes),
    lengthDelimited(r.payloadBytes),
    uint32(r.timesSeen),
    lengthDelimited(r.serverIdBytes),
  ]);
}

/**
 * What a call may end with, given the sizes its messages may have and the receive limits on each
 * side (doc/statuscodes.md: a message larger than the configured limit, sent or received, fails the
 * call RESOURCE_EXHAUSTED; a message at or under it goes through). `both` when the encoding's
 * latitude puts a message on either side of a limit.
 */
export function expectedOutcome(
  request: { min: number; max: number },
  response: { min: number; max: number },
  limits: { serverReceive: number; clientReceive: number },
): 'ok' | 'resource-exhausted' | 'either' {
  if (request.min > limits.serverReceive) return 'resource-exhausted';
  if (request.max > limits.serverReceive) return 'either';
  if (response.min > limits.clientReceive) return 'resource-exhausted';
  if (response.max > limits.clientReceive) return 'either';
  return 'ok';
}
