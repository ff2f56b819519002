// Minimal reproduction, outside the suite: a wait-for-ready call pending on a grpc-js channel whose
// server accepts each TCP connection and closes it at once (FIN) before any HTTP/2 SETTINGS; the
// listener counts the connection attempts. Usage: node wait-for-ready-vs-close.cjs GRPC_JS_DIR [close|reset]
const net = require('node:net');
const [dir, mode = 'close'] = process.argv.slice(2);
const grpc = require(dir);
let attempts = 0;
const server = net.createServer((s) => {
  attempts += 1;
  s.on('error', () => {});
  if (mode === 'reset') s.resetAndDestroy();
  else s.destroy();
});
server.listen(0, '127.0.0.1', () => {
  const options = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 400 };
  const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure(), options);
  const started = performance.now();
  client.makeUnaryRequest(
    '/svc/Method',
    (x) => x,
    (x) => x,
    Buffer.alloc(0),
    new grpc.Metadata({ waitForReady: true }),
    { deadline: Date.now() + 2000 },
    (err) => {
      const ms = performance.now() - started;
      console.log(
        `grpc-js ${require(`${dir}/package.json`).version} (${mode}): the wait-for-ready call ended ${err ? grpc.status[err.code] : 'OK'} after ${ms.toFixed(0)} ms; the server saw ${attempts} connection attempts (backoff 100..400 ms allows about 8)`,
      );
      client.close();
      server.close();
    },
  );
});
