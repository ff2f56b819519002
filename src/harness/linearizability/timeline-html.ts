import type { LinearizabilityReport, Operation, PartitionReport, UnknownReason } from './model.js';

/** What `renderTimelineHtml` draws: a history, its verdict, and how to print an operation. */
export interface TimelineInput<I, O> {
  readonly title: string;
  readonly ops: readonly Operation<I, O>[];
  readonly result: LinearizabilityReport;
  /** One line per operation, e.g. the model's `describeOperation`. Default: JSON of input and output. */
  readonly describe?: (input: I, output: O | undefined) => string;
}

type Role = 'placed' | 'stuck' | 'pending' | 'other';
interface Bar {
  readonly op: Operation<unknown, unknown>;
  readonly role: Role;
  readonly order?: string;
  readonly text: string;
  row: number;
  /** Where the next bar of the same row starts: the label may run on until there. */
  labelEnd: number;
}

const EVENT_PX = 26; // width given to each distinct call/return time
const ROW_PX = 30;
const LEFT_PX = 12;
const OPEN_END_PX = 90; // room right of the last event, where unknown outcomes run out
const COLORS: Record<Role, { fill: string; stroke: string; label: string }> = {
  placed: { fill: '#c8ecc9', stroke: '#2e7d32', label: 'in the longest linearizable prefix (number: its place in the order)' },
  stuck: { fill: '#ffcdd2', stroke: '#c62828', label: 'could not be placed next' },
  pending: { fill: '#e3e7ee', stroke: '#607089', label: 'not reached' },
  other: { fill: '#f1f1f1', stroke: '#b0b0b0', label: 'another partition (linearizable, or not checked)' },
};

const UNKNOWN: Record<UnknownReason, string> = {
  timeout: 'timed out',
  memory: 'memory bound reached',
  'model-error': 'the model threw',
};
// A part's heading: its label when the model gives one, else its place among the parts shown.
const partName = (p: PartitionReport, k: number, many: boolean) =>
  p.label !== undefined ? `Partition ${JSON.stringify(p.label)}: ` : many ? `Partition ${k + 1}: ` : '';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const showTime = (t: number) => (Number.isFinite(t) ? String(t) : 'never (unknown outcome)');

/**
 * Renders a history as a self-contained HTML page (inline CSS and SVG, no network): one lane per
 * client, each operation a bar from call to return, the longest linearizable prefix in green with
 * its order numbers, the operations that could not be placed next in red, unknown outcomes hatched
 * and open to the right edge, hover titles with details, a legend and the state after the prefix.
 * Time is drawn by rank (each distinct event time one step), so dense bursts stay readable.
 */
export function renderTimelineHtml<I, O>(input: TimelineInput<I, O>): string {
  const describe =
    input.describe ?? ((i: I, o: O | undefined) => `${JSON.stringify(i)} -> ${o === undefined ? '?' : JSON.stringify(o)}`);
  const report = input.result;
  // Highlight the partitions that failed; when none failed, every partition's order is shown.
  const failing = report.partitions.filter((p) => p.result === 'not-linearizable' || p.result === 'unknown');
  const focus = failing.length > 0 ? failing : report.partitions;
  const order = new Map<number, string>();
  const stuck = new Set<number>();
  const focused = new Set<number>();
  focus.forEach((p, k) => {
    const prefix = focus.length > 1 ? `${k + 1}.` : '';
    for (const [n, id] of p.longestPrefix.entries()) order.set(id, `${prefix}${n + 1}`);
    for (const id of p.stuck?.opIds ?? []) stuck.add(id);
  });
  for (const id of order.keys()) focused.add(id);
  for (const id of stuck) focused.add(id);
  const partial = report.partitions.length > 1 || focus.some((p) => p.result === 'linearizable');

  const times = [...new Set(input.ops.flatMap((o) => [o.call, o.ret]).filter(Number.isFinite))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i]));
  const lastX = LEFT_PX + Math.max(0, times.length - 1) * EVENT_PX;
  const width = lastX + OPEN_END_PX;
  const xOf = (t: number) => (Number.isFinite(t) ? LEFT_PX + (rank.get(t) ?? 0) * EVENT_PX : width);

  // Lanes in order of first appearance; overlapping operations of one client get rows of their own.
  const lanes = new Map<string, Bar[]>();
  for (const op of [...input.ops].sort((a, b) => a.call - b.call || a.id - b.id)) {
    const role: Role = stuck.has(op.id)
      ? 'stuck'
      : order.has(op.id)
        ? 'placed'
        : partial && !focused.has(op.id)
          ? 'other'
          : 'pending';
    const bars = lanes.get(op.client) ?? [];
    const ends: number[] = [];
    for (const b of bars) ends[b.row] = Math.max(ends[b.row] ?? Number.NEGATIVE_INFINITY, xOf(b.op.ret));
    let row = 0;
    while ((ends[row] ?? Number.NEGATIVE_INFINITY) >= xOf(op.call)) row++;
    bars.push({
      op,
      role,
      order: order.get(op.id),
      text: describe(op.input as I, op.output as O | undefined),
      row,
      labelEnd: width,
    });
    lanes.set(op.client, bars);
  }
  // Bars are often narrower than their text: let a label run on over the gap to the next bar of its row.
  for (const bars of lanes.values()) {
    const lastInRow = new Map<number, Bar>();
    for (const b of bars) {
      const before = lastInRow.get(b.row);
      if (before) before.labelEnd = xOf(b.op.call) - 3;
      lastInRow.set(b.row, b);
    }
  }

  let y = 28;
  const laneLabels: string[] = [];
  const shapes: string[] = [];
  for (const [client, bars] of lanes) {
    const rows = bars.reduce((m, b) => Math.max(m, b.row), -1) + 1;
    laneLabels.push(`<div class="lane" style="height:${rows * ROW_PX}px">${escapeHtml(client)}</div>`);
    shapes.push(`<rect class="band" x="0" y="${y}" width="${width}" height="${rows * ROW_PX}"/>`);
    for (const b of bars) shapes.push(drawBar(b, xOf, y + b.row * ROW_PX));
    y += rows * ROW_PX;
  }
  const height = y + 6;
  const step = Math.max(1, Math.ceil(times.length / Math.max(1, Math.floor(width / 120))));
  const ticks = times
    .map((t, i) => (i % step === 0 ? `<text class="tick" x="${xOf(t)}" y="16">${escapeHtml(String(t))}</text>` : ''))
    .join('');

  const verdict =
    report.result === 'not-linearizable'
      ? 'not linearizable'
      : report.result === 'unknown'
        ? `unknown (${UNKNOWN[report.reason ?? 'timeout']})`
        : 'linearizable';
  const byId = new Map(input.ops.map((o) => [o.id, o]));
  const summary = focus
    .filter((p) => p.result !== 'linearizable')
    .map((p, k) => {
      const rows = (p.stuck?.opIds ?? []).map((id) => {
        const op = byId.get(id);
        return op
          ? `<li>client ${escapeHtml(op.client)}: ${escapeHtml(describe(op.input, op.output))} (op #${id}, call ${op.call}, return ${escapeHtml(showTime(op.ret))})</li>`
          : '';
      });
      const how = p.result === 'unknown' ? `search ended: ${UNKNOWN[p.reason ?? 'timeout']}` : 'stuck';
      return `<section class="panel"><h2>${escapeHtml(partName(p, k, focus.length > 1))}${how} after ${p.longestPrefix.length} of ${p.ops} operations</h2>
${p.error === undefined ? '' : `<p>${escapeHtml(p.error)}</p>`}
<p>Model state after the longest linearizable prefix: <code>${escapeHtml(p.stuck?.state ?? 'not recorded')}</code></p>
${rows.length ? `<p>None of these could be placed next:</p><ul>${rows.join('')}</ul>` : ''}</section>`;
    })
    .join('\n');
  const legend = (Object.keys(COLORS) as Role[])
    .filter((r) => r !== 'other' || partial)
    .map((r) => `<span><i style="background:${COLORS[r].fill};border-color:${COLORS[r].stroke}"></i>${COLORS[r].label}</span>`)
    .concat('<span><i class="open"></i>unknown outcome: may take effect any time after its call, or never</span>')
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#1d232b}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:0 0 6px}
.verdict-not-linearizable{color:#c62828}.verdict-linearizable{color:#2e7d32}.verdict-unknown{color:#a86b00}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0;font-size:13px}
.legend i{display:inline-block;width:22px;height:12px;border:1.5px solid;margin-right:6px;vertical-align:-2px}
.legend i.open{border-color:#607089;border-right:none;background:repeating-linear-gradient(135deg,#e3e7ee 0 4px,#fff 4px 8px)}
.chart{display:flex;border:1px solid #ccd;max-width:100%}
.lanes{flex:none;padding-top:28px;background:#fafbfc;border-right:1px solid #ccd;font:12px ui-monospace,monospace}
.lane{display:flex;align-items:center;padding:0 10px;border-top:1px solid #e6e8ec;box-sizing:border-box}
.scroll{overflow-x:auto}
svg{display:block;font:11px ui-monospace,monospace}
.band{fill:none;stroke:#e6e8ec}.tick{fill:#6b7480;text-anchor:middle}
.note{color:#6b7480;font-size:12px;margin-top:2px}
.panel{margin-top:14px;padding:10px 14px;border-left:4px solid #c62828;background:#fff5f5}
.panel ul{margin:4px 0;font:13px ui-monospace,monospace}
</style></head><body>
<h1>${escapeHtml(input.title)}: <span class="verdict-${report.result}">${verdict}</span></h1>
<div>${input.ops.length} operations, ${lanes.size} clients, ${report.partitions.length} partition(s), checked in ${report.elapsedMs.toFixed(1)} ms. Hover a bar for details.</div>
<div class="note">Time runs left to right by rank: each distinct call or return time is one step; the ticks give the times.</div>
<div class="legend">${legend}</div>
<div class="chart"><div class="lanes">${laneLabels.join('')}</div><div class="scroll">
<svg xmlns="http://www.w3.org/2000/svg" width="${width + 4}" height="${height}">
<defs><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="8" stroke="#fff" stroke-width="4" stroke-opacity="0.8"/></pattern></defs>
${ticks}
${shapes.join('\n')}
</svg></div></div>
${summary}
<script>document.getElementById('stuck')?.scrollIntoView({ block: 'nearest', inline: 'center' });</script>
</body></html>
`;
}

function drawBar(b: Bar, xOf: (t: number) => number, top: number): string {
  const { op, role } = b;
  const color = COLORS[role];
  const x = xOf(op.call);
  const open = !Number.isFinite(op.ret);
  const w = Math.max(8, xOf(op.ret) - x);
  const y = top + 4;
  const h = ROW_PX - 8;
  const title = [
    `#${op.id} ${op.client}: ${b.text}`,
    `call ${op.call}, return ${showTime(op.ret)}`,
    b.order
      ? `linearized as number ${b.order}`
      : role === 'stuck'
        ? 'could not be placed next'
        : role === 'other'
          ? 'in another partition'
          : 'not placed',
  ].join('\n');
  const order = b.order ? `<tspan font-weight="bold" fill="${color.stroke}">${b.order}</tspan> ` : '';
  // Unknown outcomes: hatched and without a right border, to read as "still open".
  const outline = open
    ? `<path d="M${x + w},${y} H${x} V${y + h} H${x + w}" fill="none" stroke="${color.stroke}" stroke-width="1.5"/>`
    : `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="none" stroke="${color.stroke}" stroke-width="${role === 'stuck' ? 2.5 : 1.5}"/>`;
  return `<g${role === 'stuck' ? ' id="stuck"' : ''}><title>${escapeHtml(title)}</title>
<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="${color.fill}"/>${open ? `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="url(#hatch)"/>` : ''}${outline}
<svg x="${x + 3}" y="${y}" width="${Math.max(0, b.labelEnd - x - 3, w - 5)}" height="${h}"><text x="0" y="${h / 2 + 4}" fill="#1d232b">${order}${escapeHtml(b.text)}</text></svg></g>`;
}
