import type { LayerVerdict, VariantVerdict } from './self-check.js';

/** One layer's cell: who caught it, at which run, after how long, and shrunk/shortest; or why not. */
function cell(l: LayerVerdict | undefined, shortest: number): string {
  if (!l) return 'not run';
  if (!l.caught) return l.blindSpot ? 'blind' : `MISSED (${l.spentSeconds.toFixed(0)} s)`;
  const by = l.shrunkBy ? `${l.by} (shortest by ${l.shrunkBy})` : l.by;
  return `${by}, run ${l.runs}, ${(l.seconds ?? 0).toFixed(2)} s, ${l.shrunkCommands ?? '?'}/${shortest}`;
}

/**
 * The catalogue table of a self-check as Markdown: per variant and layer, the property that caught
 * it, the run and the seconds to its first failure, and the shrunk counterexample's length beside
 * the catalogue's shortest; "blind" where the catalogue says the layer cannot see it.
 */
export function catalogueTable(verdicts: readonly VariantVerdict[]): string {
  const rows = verdicts.map((v) => [
    v.name,
    v.bugClass,
    cell(v.layers.simulated, v.shortestCommands),
    cell(v.layers.live, v.shortestCommands),
  ]);
  const header = ['variant', 'class', 'simulated', 'live'];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] as string).length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, k) => c.padEnd(widths[k] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
