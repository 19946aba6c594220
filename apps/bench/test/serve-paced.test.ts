// The open-loop generator of bench serve: the offered count, bodies per request, and latency
// counted from when a request was due, so that a stalled server shows in the requests that
// waited behind it rather than thinning the load.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { paced } from '../src/experiments/serve/paced.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('bench serve: the paced generator', () => {
  it('offers rate x seconds requests and counts a stall from when each request was due', async () => {
    const bodies: string[] = [];
    let posts = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (req.method !== 'POST') return res.end('ok');
        bodies.push(body);
        // One stall of 200 ms on the 20th request; with one connection the next ones queue.
        const delay = ++posts === 20 ? 200 : 0;
        setTimeout(() => res.end('{}'), delay);
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const result = await paced(
      {
        url: `http://127.0.0.1:${port}`,
        seconds: 0.5,
        connections: 1,
        method: 'POST',
        path: '/x',
        headers: { 'content-type': 'application/json' },
        rate: 200,
        deleteOf: 10,
      },
      (k) => JSON.stringify({ k }),
    );
    expect(result.requests).toBe(100);
    expect(result.non2xx + result.errors).toBe(0);
    expect(bodies.length).toBe(100);
    expect(new Set(bodies).size).toBe(100);
    // The stalled request took 200 ms; the one due 5 ms after it waited about 195 ms behind it.
    expect(result.max).toBeGreaterThanOrEqual(195);
    expect(result.p99).toBeGreaterThan(150);
    // The first 10 were before the stall.
    expect(result.p99First).toBeLessThan(100);
  });
});
