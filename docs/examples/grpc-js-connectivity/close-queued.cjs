// Minimal reproduction, outside the suite: a wait-for-ready call queued on a channel whose server
// resets every connection (TRANSIENT_FAILURE), then the channel is closed. wait-for-ready.md: a
// queued RPC still fails before READY when the channel shuts down.
// Usage: node close-queued.cjs GRPC_JS_DIR
const net = require('node:net');
const [dir] = process.argv.slice(2);
const grpc = require(dir);
let attempts = 0;
const server = net.createServer((s) => {
  attempts += 1;
  s.on('error', () => {});
  s.resetAndDestroy();
});
server.listen(0, '127.0.0.1', () => {
  const options = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 400 };
  const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure(), options);
  let closedAt;
  let attemptsAtClose;
  client.makeUnaryRequest(
    '/svc/Method',
    (x) => x,
    (x) => x,
    Buffer.alloc(0),
    new grpc.Metadata({ waitForReady: true }),
    { deadline: Date.now() + 3000 },
    (err) => {
      const after =
        closedAt === undefined ? 'before the close' : `${(performance.now() - closedAt).toFixed(0)} ms after the close`;
      console.log(
        `grpc-js ${require(`${dir}/package.json`).version}: the queued wait-for-ready call ended ${err ? grpc.status[err.code] : 'OK'} ${after} (connection attempts: ${attemptsAtClose} before the close, ${attempts - attemptsAtClose} after it)`,
      );
      server.close();
    },
  );
  setTimeout(() => {
    closedAt = performance.now();
    attemptsAtClose = attempts;
    client.close();
  }, 500);
});
