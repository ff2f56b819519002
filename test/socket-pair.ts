import { once } from 'node:events';
import net from 'node:net';

/**
 * Two connected loopback sockets: `ours` (a proxy's side) and `peer` (the other end), both
 * half-open capable, their errors swallowed (a reset is what the tests that use them make).
 */
export async function socketPair(): Promise<{ ours: net.Socket; peer: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const ours = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, allowHalfOpen: true });
  const [peer] = await accepted;
  await once(ours, 'connect');
  server.close();
  for (const s of [ours, peer]) s.on('error', () => {});
  return { ours, peer };
}
