import { beforeEach, describe, expect, it } from 'vitest';
import { checkOperations } from './check-operations.js';
import type { LinearizabilityModel, LinearizabilityReport, Operation, PartitionReport } from './model.js';
import { renderTimelineHtml } from './timeline-html.js';

// A counter with clients named as the pool's histories name them: increments and reads.
type In = { readonly f: 'inc' } | { readonly f: 'get' };
type Out = { readonly value?: number };
const counter: LinearizabilityModel<number, In, Out> = {
  init: () => 0,
  step: (n, input, output) => (input.f === 'inc' ? n + 1 : output === undefined || output.value === n ? n : undefined),
  hash: String,
  describeOperation: (input, output) => `${input.f}()${input.f === 'get' ? ` -> ${output?.value ?? '?'}` : ''}`,
  describeState: (n) => `count <${n}>`,
};
const ops: Operation<In, Out>[] = [
  { id: 0, client: 'c1', input: { f: 'inc' }, output: {}, call: 0, ret: 10 },
  { id: 1, client: 'c2', input: { f: 'get' }, output: { value: 1 }, call: 12, ret: 20 },
  { id: 2, client: 'nemesis', input: { f: 'inc' }, output: undefined, call: 5, ret: Number.POSITIVE_INFINITY },
  { id: 3, client: 'c1', input: { f: 'get' }, output: { value: 5 }, call: 25, ret: 30 },
];

// Pages are drawn inside each test, not when the file is collected: a mutation-testing run activates
// its mutant only while tests run, and a page drawn earlier would never see it.
describe('renderTimelineHtml', () => {
  let result: LinearizabilityReport;
  let html: string;
  beforeEach(() => {
    result = checkOperations(counter, ops);
    html = renderTimelineHtml({ title: 'counter <demo>', ops, result, describe: counter.describeOperation });
  });

  it('draws a self-contained page with one lane per client', () => {
    expect(result.result).toBe('not-linearizable');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Nothing fetched: the only URL is the SVG namespace.
    expect(html.match(/https?:\/\/[^"]*/g)).toEqual(['http://www.w3.org/2000/svg']);
    expect(html).not.toMatch(/<script[^>]+src=|<link /);
    for (const client of ['c1', 'c2', 'nemesis']) expect(html).toContain(`<div class="lane" style="height:30px">${client}</div>`);
  });

  it('marks the prefix, the stuck operation, the open-ended one and the state, escaped', () => {
    expect(html).toContain('<title>counter &#60;demo&#62;</title>');
    // Longest prefix: c1's inc, c2's get -> 1, then the nemesis's inc; nothing explains get -> 5.
    expect(result.partitions[0]?.longestPrefix).toEqual([0, 1, 2]);
    expect(html).toContain('count &#60;2&#62;');
    expect(html).toContain('<g id="stuck"><title>#3 c1: get() -&#62; 5');
    expect(html).toContain('fill="url(#hatch)"');
    expect(html).toContain('linearized as number 1');
    expect(html).toContain('client c1: get() -&#62; 5 (op #3, call 25, return 30)');
  });

  it('renders a linearizable history and an empty one without failing', () => {
    const fine = ops.slice(0, 3);
    expect(renderTimelineHtml({ title: 'ok', ops: fine, result: checkOperations(counter, fine) })).toContain(
      'verdict-linearizable',
    );
    expect(renderTimelineHtml({ title: 'empty', ops: [], result: checkOperations(counter, []) })).toContain('0 operations');
  });
});

// The drawing itself, read back from the SVG: where each bar is, how wide, in which row, in which
// colour, with which order number and label room; the ticks; the panels and legend by verdict.
interface DrawnBar {
  readonly id: number;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly fill: string;
  readonly labelWidth: number;
  readonly order: string | undefined;
  readonly open: boolean;
  readonly strokeWidth: string | undefined;
}
function bars(html: string): Map<number, DrawnBar> {
  const out = new Map<number, DrawnBar>();
  for (const g of html.split('<g').slice(1)) {
    const id = Number(/<title>#(\d+) /.exec(g)?.[1]);
    const rect = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" rx="3" fill="(#[0-9a-f]+)"\/>/.exec(g);
    const label = /<svg x="[\d.]+" y="[\d.]+" width="([\d.]+)"/.exec(g);
    if (!rect || !label) throw new Error(`unreadable bar: ${g.slice(0, 200)}`);
    out.set(id, {
      id,
      x: Number(rect[1]),
      y: Number(rect[2]),
      w: Number(rect[3]),
      fill: rect[4] as string,
      labelWidth: Number(label[1]),
      order: /<tspan font-weight="bold" fill="#[0-9a-f]+">([\d.]+)<\/tspan>/.exec(g)?.[1],
      open: g.includes('fill="url(#hatch)"'),
      strokeWidth: /stroke-width="([\d.]+)"\/>\n<svg/.exec(g)?.[1],
    });
  }
  return out;
}
const report = (
  over: Partial<LinearizabilityReport> & Pick<LinearizabilityReport, 'result' | 'partitions'>,
): LinearizabilityReport => ({
  elapsedMs: 1.25,
  ...over,
});
const part = (over: Partial<PartitionReport> & Pick<PartitionReport, 'result'>): PartitionReport => ({
  ops: 4,
  longestPrefix: [],
  statesExplored: 1,
  ...over,
});
const GREEN = '#c8ecc9';
const RED = '#ffcdd2';
const GREY_BLUE = '#e3e7ee';
const GREY = '#f1f1f1';

describe('renderTimelineHtml: the drawing', () => {
  let html: string;
  let drawn: Map<number, DrawnBar>;
  beforeEach(() => {
    html = renderTimelineHtml({
      title: 't',
      ops,
      describe: counter.describeOperation,
      result: report({
        result: 'not-linearizable',
        partitions: [part({ result: 'not-linearizable', longestPrefix: [0, 1], stuck: { opIds: [3], state: 'count <2>' } })],
      }),
    });
    drawn = bars(html);
  });

  it('places each bar by the rank of its call and return (26 px a step, from 12 px); an open one runs to the edge', () => {
    // Finite times 0, 5, 10, 12, 20, 25, 30: ranks 0..6; the last at 168 px, the edge 90 px further.
    expect(drawn.get(0)).toMatchObject({ x: 12, w: 52, y: 32 }); // 0 -> 10
    expect(drawn.get(2)).toMatchObject({ x: 38, w: 220, y: 62, open: true }); // 5 -> never
    expect(drawn.get(1)).toMatchObject({ x: 90, w: 26, y: 92 }); // 12 -> 20
    expect(drawn.get(3)).toMatchObject({ x: 142, w: 26, y: 32, open: false }); // 25 -> 30, c1's row again
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" width="262" height="124">');
  });

  it('colours by role and numbers the prefix; the stuck bar is drawn heavier', () => {
    expect(drawn.get(0)).toMatchObject({ fill: GREEN, order: '1', strokeWidth: '1.5' });
    expect(drawn.get(1)).toMatchObject({ fill: GREEN, order: '2' });
    expect(drawn.get(2)).toMatchObject({ fill: GREY_BLUE, order: undefined });
    expect(drawn.get(3)).toMatchObject({ fill: RED, order: undefined, strokeWidth: '2.5' });
    expect(html).toContain('<g id="stuck"><title>#3 c1: get() -&#62; 5\ncall 25, return 30\ncould not be placed next</title>');
    expect(html).toContain('#2 nemesis: inc()\ncall 5, return never (unknown outcome)\nnot placed</title>');
    expect(html).toContain('#0 c1: inc()\ncall 0, return 10\nlinearized as number 1</title>');
  });

  it('lets a label run on to the next bar of its row, or to the edge', () => {
    expect(drawn.get(0)?.labelWidth).toBe(124); // to c1's next call (142) less 3, less its own x and 3
    expect(drawn.get(3)?.labelWidth).toBe(113);
    expect(drawn.get(2)?.labelWidth).toBe(217);
  });

  it('labels lanes in order of first call, ticks every few times, and says what it drew', () => {
    const lanes = [...html.matchAll(/<div class="lane" style="height:(\d+)px">([^<]+)<\/div>/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(lanes).toEqual(['c1:30', 'nemesis:30', 'c2:30']);
    const ticks = [...html.matchAll(/<text class="tick" x="(\d+)" y="16">([^<]+)<\/text>/g)].map((m) => `${m[2]}@${m[1]}`);
    expect(ticks).toEqual(['0@12', '20@116']);
    expect(html).toContain('<div>4 operations, 3 clients, 1 partition(s), checked in 1.3 ms. Hover a bar for details.</div>');
    expect(html).toContain('<h1>t: <span class="verdict-not-linearizable">not linearizable</span></h1>');
    expect(html).toContain('<h2>stuck after 2 of 4 operations</h2>');
    expect(html).toContain('<code>count &#60;2&#62;</code>');
    expect(html).toContain('<li>client c1: get() -&#62; 5 (op #3, call 25, return 30)</li>');
    // One partition, none linearizable: no "another partition" in the legend.
    expect(html).not.toContain('another partition');
  });

  it('gives a client overlapping operations rows of their own', () => {
    const overlapping: Operation<In, Out>[] = [
      { id: 0, client: 'c1', input: { f: 'inc' }, output: {}, call: 0, ret: 10 },
      { id: 1, client: 'c1', input: { f: 'inc' }, output: {}, call: 5, ret: 15 },
      { id: 2, client: 'c1', input: { f: 'get' }, output: { value: 2 }, call: 10, ret: 20 },
    ];
    const page = renderTimelineHtml({
      title: 'rows',
      ops: overlapping,
      result: report({
        result: 'linearizable',
        partitions: [part({ result: 'linearizable', ops: 3, longestPrefix: [0, 1, 2] })],
      }),
    });
    const b = bars(page);
    // 0 and 1 overlap; 2 starts when 0 returns (at the same rank), so it cannot share 0's row either.
    expect([b.get(0)?.y, b.get(1)?.y, b.get(2)?.y]).toEqual([32, 62, 92]);
    expect(page).toContain('<div class="lane" style="height:90px">c1</div>');
    expect(page).toContain('<span class="verdict-linearizable">linearizable</span>');
    // Without a describe: input and output as JSON.
    expect(page).toContain('#2 c1: {&#34;f&#34;:&#34;get&#34;} -&#62; {&#34;value&#34;:2}');
    expect([b.get(0)?.order, b.get(1)?.order, b.get(2)?.order]).toEqual(['1', '2', '3']);
  });

  it('with several partitions: the failing ones numbered apart, the others grey; labels and reasons in the panels', () => {
    const two: Operation<In, Out>[] = [
      { id: 0, client: 'a', input: { f: 'inc' }, output: {}, call: 0, ret: 1 },
      { id: 1, client: 'b', input: { f: 'get' }, output: { value: 9 }, call: 2, ret: 3 },
      { id: 2, client: 'c', input: { f: 'inc' }, output: {}, call: 4, ret: 5 },
      { id: 3, client: 'd', input: { f: 'get' }, output: undefined, call: 6, ret: Number.POSITIVE_INFINITY },
    ];
    const page = renderTimelineHtml({
      title: 'parts',
      ops: two,
      describe: counter.describeOperation,
      result: report({
        result: 'unknown',
        reason: 'memory',
        partitions: [
          part({ result: 'not-linearizable', label: 'k', ops: 2, longestPrefix: [0], stuck: { opIds: [1], state: 's1' } }),
          part({ result: 'linearizable', ops: 1, longestPrefix: [2] }),
          part({ result: 'unknown', reason: 'timeout', ops: 1, longestPrefix: [], error: 'gave <up>' }),
        ],
      }),
    });
    const b = bars(page);
    expect(b.get(0)).toMatchObject({ fill: GREEN, order: '1.1' });
    expect(b.get(1)).toMatchObject({ fill: RED });
    expect(b.get(2)).toMatchObject({ fill: GREY, order: undefined });
    expect(b.get(3)).toMatchObject({ fill: GREY, open: true });
    expect(page).toContain('in another partition</title>');
    expect(page).toContain('<span class="verdict-unknown">unknown (memory bound reached)</span>');
    expect(page).toContain('<h2>Partition &#34;k&#34;: stuck after 1 of 2 operations</h2>');
    expect(page).toContain('<h2>Partition 2: search ended: timed out after 0 of 1 operations</h2>');
    expect(page).toContain('<p>gave &#60;up&#62;</p>');
    expect(page).toContain('<code>not recorded</code>');
    expect(page).toContain('another partition (linearizable, or not checked)');
  });

  it('names every reason a search can end without a verdict', () => {
    for (const [reason, text] of [
      ['timeout', 'timed out'],
      ['memory', 'memory bound reached'],
      ['model-error', 'the model threw'],
    ] as const) {
      const page = renderTimelineHtml({
        title: 'u',
        ops: ops.slice(0, 1),
        result: report({ result: 'unknown', reason, partitions: [part({ result: 'unknown', reason, ops: 1 })] }),
      });
      expect(page).toContain(`unknown (${text})`);
      expect(page).toContain(`search ended: ${text} after 0 of 1 operations`);
    }
  });
});
