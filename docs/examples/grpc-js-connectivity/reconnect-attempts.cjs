// Minimal reproduction, outside the suite: reconnect attempts of one grpc-js channel to a server
// that is down (a loopback listener that accepts and resets/closes each connection), timed on the
// listener's side. Usage: node reconnect-attempts.cjs GRPC_JS_DIR INITIAL_MS MAX_MS reset|close [SECONDS]
const net = require('node:net');
const [dir, initial, max, mode = 'reset', seconds = '3'] = process.argv.slice(2);
const grpc = require(dir);
const times = [];
const server = net.createServer((s) => {
  times.push(performance.now());
  s.on('error', () => {});
  if (mode === 'reset') s.resetAndDestroy();
  else s.destroy();
});
server.listen(0, '127.0.0.1', () => {
  const target = `127.0.0.1:${server.address().port}`;
  const channel = new grpc.Channel(target, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': Number(initial),
    'grpc.max_reconnect_backoff_ms': Number(max),
    'grpc.use_local_subchannel_pool': 1,
  });
  channel.getConnectivityState(true); // connect ahead of use; no call is ever made
  setTimeout(() => {
    channel.close();
    server.close();
    const gaps = times.slice(1).map((t, i) => (t - times[i]).toFixed(0));
    console.log(
      `grpc-js ${require(`${dir}/package.json`).version}: ${times.length} attempts in ${seconds} s, waits (ms): ${gaps.join(' ')}`,
    );
  }, Number(seconds) * 1000);
});
