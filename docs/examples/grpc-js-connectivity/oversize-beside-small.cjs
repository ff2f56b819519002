// Minimal reproduction, outside the suite: unary calls started at once on one connection, some of
// whose requests exceed the server's 4 MiB receive limit. doc/statuscodes.md: those fail
// RESOURCE_EXHAUSTED; the others are within every limit and must succeed.
// Usage: node oversize-beside-small.cjs CLIENT_GRPC_JS_DIR SERVER_GRPC_JS_DIR SIZE...
const [clientDir, serverDir, ...sizes] = process.argv.slice(2);
const client = require(clientDir);
const server = require(serverDir);
const echo = {
  path: '/t.T/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};
const s = new server.Server(process.env.SERVER_MEM ? { 'grpc-node.max_session_memory': Number(process.env.SERVER_MEM) } : {});
s.addService({ Echo: echo }, { Echo: (call, cb) => cb(null, call.request) });
s.bindAsync('127.0.0.1:0', server.ServerCredentials.createInsecure(), (_err, port) => {
  const c = new client.Client(
    `127.0.0.1:${port}`,
    client.credentials.createInsecure(),
    process.env.CLIENT_MEM ? { 'grpc-node.max_session_memory': Number(process.env.CLIENT_MEM) } : {},
  );
  c.waitForReady(Date.now() + 5000, () => {
    Promise.all(
      sizes.map(
        (n) =>
          new Promise((resolve) =>
            c.makeUnaryRequest(
              '/t.T/Echo',
              (b) => b,
              (b) => b,
              Buffer.alloc(Number(n)),
              new client.Metadata(),
              { deadline: Date.now() + 5000 },
              (e) => resolve(`${n} bytes: ${e ? `${client.status[e.code]} (${e.details})` : 'OK'}`),
            ),
          ),
      ),
    ).then((outcomes) => {
      console.log(
        `client ${require(`${clientDir}/package.json`).version}, server ${require(`${serverDir}/package.json`).version}: ${outcomes.join('; ')}`,
      );
      c.close();
      s.forceShutdown();
    });
  });
});
