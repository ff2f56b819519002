// The observer reads the ledger on the servers' pinned grpc-js, not on the release under test.
import * as grpc from 'grpc-js-server';
import { loadTestClientClass } from '../proto/load-test-proto.js';
import type { SeenId } from './reconcile-ids.js';

/**
 * Reads, over gRPC (`GetLedger`), the ids a load-test server saw that start with `idPrefix`: what
 * reached the server, observed on its side. Uses a channel of its own, closed before it resolves.
 */
export function readServerLedger(address: string, idPrefix: string, deadlineMs = 5_000): Promise<SeenId[]> {
  const Client = loadTestClientClass(grpc);
  const client = new Client(address, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    // One entry per request: a long run's ledger is larger than the default 4 MB.
    'grpc.max_receive_message_length': -1,
  });
  return new Promise<SeenId[]>((resolve, reject) => {
    client.GetLedger({ idPrefix }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error || !response) reject(error ?? new Error('GetLedger answered nothing'));
      else resolve(response.entries.map((e) => ({ requestId: e.requestId, count: e.count })));
    });
  }).finally(() => client.close());
}
