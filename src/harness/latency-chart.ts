/** One series of a percentile chart: latency (ms) at each percentile. */
export interface PercentileSeries {
  readonly label: string;
  readonly color: string;
  readonly points: ReadonlyArray<{ percentile: number; latencyMs: number }>;
}

/** Percentiles plotted: the x axis is log(1 / (1 - p)), as HdrHistogram plots do. */
export const CHART_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99] as const;

/** An SVG latency-by-percentile chart, written by hand (no chart library for a dozen points). */
export function percentileChartSvg(title: string, series: readonly PercentileSeries[]): string {
  const width = 720;
  const height = 420;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const x = (p: number) => Math.log10(1 / (1 - Math.min(p, 99.99) / 100));
  const xMax = x(99.99);
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map((pt) => pt.latencyMs))) * 1.1;
  const px = (p: number) => left + (x(p) / xMax) * (width - left - right);
  const py = (ms: number) => top + (1 - ms / yMax) * (height - top - bottom);
  const ticks = [0, 90, 99, 99.9, 99.99]
    .map(
      (p) =>
        `<line x1="${px(p)}" y1="${top}" x2="${px(p)}" y2="${height - bottom}" stroke="#ddd"/>` +
        `<text x="${px(p)}" y="${height - bottom + 18}" font-size="12" text-anchor="middle">${p}%</text>`,
    )
    .join('');
  const yTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const ms = yMax * f;
      return `<line x1="${left}" y1="${py(ms)}" x2="${width - right}" y2="${py(ms)}" stroke="#eee"/><text x="${left - 8}" y="${py(ms) + 4}" font-size="12" text-anchor="end">${ms.toFixed(1)}</text>`;
    })
    .join('');
  const lines = series
    .map((s, k) => {
      const d = s.points
        .map((pt, i) => `${i === 0 ? 'M' : 'L'}${px(pt.percentile).toFixed(1)},${py(pt.latencyMs).toFixed(1)}`)
        .join(' ');
      return (
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>` +
        `<rect x="${left + 10}" y="${top + 8 + k * 18}" width="12" height="12" fill="${s.color}"/>` +
        `<text x="${left + 28}" y="${top + 18 + k * 18}" font-size="12">${s.label}</text>`
      );
    })
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${width / 2}" y="24" font-size="15" text-anchor="middle">${title}</text>` +
    `${yTicks}${ticks}${lines}` +
    `<text x="${width / 2}" y="${height - 16}" font-size="12" text-anchor="middle">percentile</text>` +
    `<text x="16" y="${height / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">latency (ms)</text>` +
    `</svg>\n`
  );
}
