// Minimal reproduction, outside the suite: the waits grpc-js's reconnect backoff produces, against
// connection-backoff.md's pseudo-code, where each wait is the un-jittered backoff times MULTIPLIER
// (capped), then jittered by +/-20%: wait k lies within 0.8..1.2 x min(INITIAL x 1.6^k, MAX).
// grpc-js multiplies the jittered wait instead, so the jitter compounds.
// Usage: node jitter-compounds.cjs GRPC_JS_DIR
const [dir] = process.argv.slice(2);
const { BackoffTimeout } = require(`${dir}/build/src/backoff-timeout.js`);
const initial = 100,
  max = 100_000,
  samples = 20_000,
  retries = 6;
const outside = new Array(retries).fill(0);
let lowest = Infinity,
  highest = 0;
for (let i = 0; i < samples; i++) {
  const b = new BackoffTimeout(() => {}, { initialDelay: initial, maxDelay: max });
  for (let k = 0; k < retries; k++) {
    const wait = b.nextDelay; // the wait runOnce() is about to use
    b.runOnce();
    b.stop();
    const nominal = Math.min(initial * 1.6 ** k, max);
    if (wait < 0.8 * nominal || wait > 1.2 * nominal) outside[k] += 1;
    if (k === retries - 1) {
      lowest = Math.min(lowest, wait / nominal);
      highest = Math.max(highest, wait / nominal);
    }
  }
}
console.log(
  `grpc-js ${require(`${dir}/package.json`).version}: share of waits outside the written algorithm's 0.8..1.2 x nominal, by retry: ${outside.map((n) => `${((100 * n) / samples).toFixed(1)}%`).join(' ')}; retry ${retries} ranged ${lowest.toFixed(2)}..${highest.toFixed(2)} x nominal`,
);
