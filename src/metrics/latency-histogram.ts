import * as hdr from 'hdr-histogram-js';

/** Highest latency the histograms track: one hour, in µs. Larger values are clamped to it. */
export const MAX_TRACKED_LATENCY_US = 3_600_000_000;

/** A latency histogram in µs with 3 significant digits (HdrHistogram). */
export type LatencyHistogram = hdr.Histogram;

export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_TRACKED_LATENCY_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

/** Serialises a histogram so it can cross a worker_threads boundary. */
export function encodeHistogram(histogram: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  return hdr.decodeFromCompressedBase64(encoded);
}
