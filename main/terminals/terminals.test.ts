// Terminals against a real pty and a real shell: output, input, resize, exit, close, and flow
// control holding a flood at the high-water mark until the UI acknowledges it.
import { afterEach, describe, expect, it } from 'vitest';
import { FlowControl } from './flow';
import { TerminalManager } from './manager';
import type { TerminalOutput } from './session';

const SH = { file: '/bin/sh', args: [] as string[] };
let manager: TerminalManager | null = null;

afterEach(async () => {
  await manager?.dispose();
  manager = null;
});

function collect() {
  let text = '';
  let exit: number | null | undefined;
  const events: TerminalOutput[] = [];
  return {
    listener: (e: TerminalOutput) => {
      events.push(e);
      if (e.type === 'data') text += e.data;
      else exit = e.code;
    },
    get text() {
      return text;
    },
    get exit() {
      return exit;
    },
    events,
  };
}

async function until(cond: () => boolean, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('FlowControl', () => {
  it('pauses above the high mark and resumes only below the low mark', () => {
    const log: string[] = [];
    const f = new FlowControl(
      () => log.push('pause'),
      () => log.push('resume'),
      100,
      20,
    );
    f.sent(60);
    f.sent(60);
    expect(log).toEqual(['pause']);
    f.acked(50); // 70 pending: still above low
    expect(log).toEqual(['pause']);
    f.sent(10);
    f.acked(70); // 10 pending
    expect(log).toEqual(['pause', 'resume']);
    f.acked(1000);
    expect(f.pending).toBe(0);
    expect(
      () =>
        new FlowControl(
          () => {},
          () => {},
          10,
          10,
        ),
    ).toThrow();
  });
});

describe('TerminalManager with a real pty', () => {
  it('runs commands typed into a local shell and shows their output', async () => {
    manager = new TerminalManager({ local: { shell: SH } });
    const s = await manager.open('local', 80, 24);
    expect(s.title).toBe('This computer');
    const out = collect();
    manager.attach(s.id, out.listener);
    s.input('echo "hel""lo from $((6*7))"\r');
    // Matching the evaluated text, not the echoed command line.
    await until(() => out.text.includes('hello from 42'), 'echo output');
  });

  it('keeps output produced before anyone attaches, and reports the exit code', async () => {
    manager = new TerminalManager({
      local: { shell: { file: '/bin/sh', args: ['-c', 'echo early-bird; exit 3'] } },
    });
    const s = await manager.open('local', 80, 24);
    await until(() => s.exited, 'shell exit');
    const out = collect();
    manager.attach(s.id, out.listener);
    expect(out.text).toContain('early-bird');
    expect(out.exit).toBe(3);
  });

  it('resizes the pty', async () => {
    manager = new TerminalManager({ local: { shell: SH } });
    const s = await manager.open('local', 80, 24);
    const out = collect();
    manager.attach(s.id, out.listener);
    s.resize(123, 37);
    s.input('stty size\r');
    await until(() => out.text.includes('37 123'), 'stty size after resize');
  });

  it('holds a flood at the high-water mark until the UI acknowledges, then resumes', async () => {
    const high = 64 * 1024;
    manager = new TerminalManager({ local: { shell: SH }, high, low: 8 * 1024 });
    const s = await manager.open('local', 80, 24);
    const out = collect();
    manager.attach(s.id, out.listener);
    s.input('yes flood-line-0123456789\r');
    await until(() => s.flowState.paused, 'the pty to be paused');
    // Paused: what reaches the UI stops growing, a little past the mark (chunks in flight).
    await new Promise((r) => setTimeout(r, 300));
    const atPause = out.text.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(out.text.length).toBe(atPause);
    expect(atPause).toBeLessThan(high + 256 * 1024);

    // The UI catches up: the shell runs again and more arrives.
    s.ack(out.text.length);
    expect(s.flowState.paused).toBe(false);
    await until(() => out.text.length > atPause, 'output after the ack');
    s.input('\x03');
    // Keep acknowledging so the interrupt's prompt can come through.
    const acker = setInterval(() => s.ack(1 << 20), 20);
    try {
      s.input('echo after-flood\r');
      await until(() => out.text.includes('after-flood'), 'the prompt back after ^C', 15_000);
    } finally {
      clearInterval(acker);
    }
  });

  it('holds output for a detached UI only up to the mark, and replays it on attach', async () => {
    manager = new TerminalManager({ local: { shell: SH }, high: 32 * 1024, low: 4 * 1024 });
    const s = await manager.open('local', 80, 24);
    s.input('yes held\r');
    await until(() => s.flowState.paused, 'pause with nobody attached');
    const out = collect();
    manager.attach(s.id, out.listener);
    expect(out.text).toContain('held\r\nheld');
    expect(out.text.length).toBeLessThan(32 * 1024 + 256 * 1024);
    s.input('\x03');
  });

  it('closes the shell process on close, and closes orphans after their grace time', async () => {
    manager = new TerminalManager({ local: { shell: SH }, orphanMs: 300 });
    const a = await manager.open('local', 80, 24);
    const b = await manager.open('local', 80, 24);
    expect(alive(a.pid!)).toBe(true);
    await manager.close(a.id);
    await until(() => !alive(a.pid!), 'shell a to exit');
    expect(() => manager!.get(a.id)).toThrow(/no terminal/);

    // b is never attached: after the grace time it goes too.
    await until(() => manager!.size === 0, 'orphan b to be closed', 5000);
    await until(() => !alive(b.pid!), 'shell b to exit');
  });

  it('keeps an attached terminal past the grace time, and its detach arms the timer', async () => {
    manager = new TerminalManager({ local: { shell: SH }, orphanMs: 200 });
    const s = await manager.open('local', 80, 24);
    const detach = manager.attach(s.id, () => {});
    await new Promise((r) => setTimeout(r, 500));
    expect(manager.size).toBe(1);
    detach();
    await until(() => manager!.size === 0, 'orphan close after detach', 5000);
  });

  it('refuses shells on nodes when no SSH opener is configured', async () => {
    manager = new TerminalManager({ local: { shell: SH } });
    await expect(manager.open({ node: 'node-a' }, 80, 24)).rejects.toThrow(/not available/);
  });
});
