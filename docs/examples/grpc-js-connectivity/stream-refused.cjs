// Minimal reproduction, outside the suite: a unary call whose request is larger than the server's
// receive limit (grpc-js server, default 4 MiB). doc/statuscodes.md: RESOURCE_EXHAUSTED.
// With STREAM_LIMIT 1 an empty call is started first, so that the large one waits for a stream.
// Usage: node stream-refused.cjs CLIENT_GRPC_JS_DIR SERVER_GRPC_JS_DIR [PAYLOAD_BYTES] [STREAM_LIMIT]
const [clientDir, serverDir, bytes = String(4 * 1024 * 1024 + 100), streams] = process.argv.slice(2);
const client = require(clientDir);
const server = require(serverDir);
const svc = {
  Echo: {
    path: '/t.T/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};
const s = new server.Server(streams ? { 'grpc.max_concurrent_streams': Number(streams) } : {});
s.addService(svc, { Echo: (call, cb) => cb(null, call.request) });
s.bindAsync('127.0.0.1:0', server.ServerCredentials.createInsecure(), (_err, port) => {
  const c = new client.Client(`127.0.0.1:${port}`, client.credentials.createInsecure());
  if (streams)
    c.makeUnaryRequest(
      '/t.T/Echo',
      (b) => b,
      (b) => b,
      Buffer.alloc(0),
      new client.Metadata(),
      { deadline: Date.now() + 5000 },
      () => {},
    );
  c.makeUnaryRequest(
    '/t.T/Echo',
    (b) => b,
    (b) => b,
    Buffer.alloc(Number(bytes)),
    new client.Metadata(),
    { deadline: Date.now() + 5000 },
    (e) => {
      console.log(
        `client ${require(`${clientDir}/package.json`).version}, server ${require(`${serverDir}/package.json`).version}: a ${bytes}-byte request ended ${e ? `${client.status[e.code]} (${e.details})` : 'OK'}`,
      );
      c.close();
      s.forceShutdown();
    },
  );
});
