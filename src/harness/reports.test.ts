import { describe, expect, it } from 'vitest';
import { junitXml } from './reports.js';

describe('junitXml', () => {
  it('counts failures and escapes what XML cannot hold', () => {
    const xml = junitXml('fuzz', [
      { name: 'a', classname: 'p', timeSeconds: 1.5 },
      { name: 'b <live>', classname: 'p', timeSeconds: 0.25, failure: { message: 'x & "y"', body: "step <1>\n'2'" } },
    ]);
    expect(xml).toContain('<testsuite name="fuzz" tests="2" failures="1" errors="0" time="1.750">');
    expect(xml).toContain('<testcase name="a" classname="p" time="1.500"/>');
    expect(xml).toContain('name="b &lt;live&gt;"');
    expect(xml).toContain('<failure message="x &amp; &quot;y&quot;">step &lt;1&gt;\n&apos;2&apos;</failure>');
  });
});
