import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { countNetworkHandles, findLeakedHandles } from './leak-check.js';

describe('findLeakedHandles', () => {
  it('names a listening server left open, and nothing once it is closed', async () => {
    const baseline = countNetworkHandles();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    expect(await findLeakedHandles({ baseline, settleMs: 50 })).toEqual(['TCPServerWrap +1']);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await findLeakedHandles({ baseline, settleMs: 1_000 })).toEqual([]);
  });
});
