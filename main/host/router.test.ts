// The host boundary: every message and payload is validated; bad input is answered, never thrown.
import { describe, expect, it } from 'vitest';
import { ProtocolClient } from '../../app/protocol/client';
import type { HostMessage } from '../../app/protocol';
import { Connection } from './router';
import { createServices } from './services';

function pair() {
  const services = createServices({
    version: '9.9.9',
    door: 'serve',
    dataDir: '/tmp/spindle-test',
    startedAt: 1,
    resourcesDir: process.cwd(),
  });
  const sent: HostMessage[] = [];
  const conn: Connection = new Connection(services, 'serve', (m) => {
    sent.push(m);
    client.receive(m);
  });
  const client = new ProtocolClient((m) => void conn.receive(m));
  return { conn, client, sent };
}

describe('host router', () => {
  it('answers a request through the typed client', async () => {
    const { client } = pair();
    const info = await client.request('host.info', {});
    expect(info).toMatchObject({ name: 'spindle', version: '9.9.9', door: 'serve' });
  });

  it('answers malformed messages and unknown methods with errors', async () => {
    const { conn, sent } = pair();
    await conn.receive({ nonsense: true });
    await conn.receive({ t: 'req', id: 7, method: 'no.such', params: {} });
    expect(sent[0]).toMatchObject({ t: 'res', ok: false, error: { code: 'bad_request' } });
    expect(sent[1]).toMatchObject({
      t: 'res',
      id: 7,
      ok: false,
      error: { code: 'unknown_method' },
    });
  });

  it('validates params and names the field', async () => {
    const { conn, sent } = pair();
    await conn.receive({ t: 'sub', id: 3, topic: 'host.heartbeat', params: { intervalMs: 5 } });
    expect(sent[0]).toMatchObject({
      t: 'end',
      id: 3,
      error: { code: 'bad_request', field: 'intervalMs' },
    });
  });

  it('streams until unsubscribed, and stops on close', async () => {
    const { client, conn } = pair();
    const beats: number[] = [];
    const stop = client.subscribe('host.heartbeat', { intervalMs: 100 }, (e) => beats.push(e.t));
    await new Promise((r) => setTimeout(r, 350));
    stop();
    const seen = beats.length;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 250));
    expect(beats.length).toBe(seen);
    conn.close();
  });

  it('fails in-flight calls when the transport drops', async () => {
    const client = new ProtocolClient(() => {});
    const p = client.request('host.info', {});
    client.disconnected('gone');
    await expect(p).rejects.toThrow('gone');
  });
});
