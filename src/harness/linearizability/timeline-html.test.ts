import { describe, expect, it } from 'vitest';
import { checkOperations } from './check-operations.js';
import type { LinearizabilityModel, Operation } from './model.js';
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

describe('renderTimelineHtml', () => {
  const result = checkOperations(counter, ops);
  const html = renderTimelineHtml({ title: 'counter <demo>', ops, result, describe: counter.describeOperation });

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
