import * as hdr from 'hdr-histogram-js';

/**
 * Highest latency recorded, in µs (about 35.8 minutes): larger values are clamped to it. It keeps
 * min and max within the 32-bit atomic slots of LoadTestMetrics (found by its property test: a
 * latency of 2^31 - 1 µs was lost as min, and longer ones overflowed max).
 */
export const MAX_TRACKED_LATENCY_US = 2 ** 31 - 2;

/** A latency histogram in µs with 3 significant digits (HdrHistogram). */
export type LatencyHistogram = hdr.Histogram;

export function createLatencyHistogram(): LatencyHistogram {
  // Grows with the largest value recorded (callers clamp at MAX_TRACKED_LATENCY_US) instead of
  // allocating the whole range up front: 180 KB per histogram, one per property run, was a visible
  // share of the simulated layer's garbage collection (profiled), where latencies stay below 1 s.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** Serialises a histogram so it can cross a worker_threads boundary. */
export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  return hdr.decodeFromCompressedBase64(encoded);
}
