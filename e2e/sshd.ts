// e2e helpers around main/testing's OpenSSH fixtures (real sshd on loopback, and two nodes in
// network namespaces): one throw-away SSH world per test, a studio pointed at it, an ssh config
// written for it, and cleanup of every sshd, namespace and temp dir when the test ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test as base, expect, type Page } from '@playwright/test';
import { startTwoNodes, type TwoNodes } from '../main/testing/netns';
import { makeSshWorld, startSshd, type Sshd, type SshWorld } from '../main/testing/sshd';
import { startStudio, type Studio } from './fixtures';

export interface SshLab {
  world: SshWorld;
  /** An sshd on 127.0.0.1 (a free port), authorizing the world's client key. */
  loopback(name: string): Promise<Sshd>;
  /** Two nodes in their own network namespaces, reached through loopback forwarders. */
  twoNodes(names: [string, string]): Promise<TwoNodes>;
  /** A throw-away ssh config with one Host block per server (root, the world's client key). */
  writeSshConfig(hosts: { alias: string; sshd: Sshd }[]): string;
  /** A studio whose SSH (known_hosts, ssh config, no agent) is this world's; its own data dir. */
  studio(): Promise<Studio>;
  /** Restart a studio of this lab on the same data dir (no live SSH connections survive). */
  restart(studio: Studio): Promise<Studio>;
}

export const test = base.extend<{ lab: SshLab }>({
  lab: async ({}, use) => {
    const world = makeSshWorld();
    const servers: Sshd[] = [];
    const clusters: TwoNodes[] = [];
    const studios: { studio: Studio; home: string }[] = [];
    const lab: SshLab = {
      world,
      async loopback(name) {
        const s = await startSshd(world, { name });
        servers.push(s);
        return s;
      },
      async twoNodes(names) {
        const t = await startTwoNodes(world, names);
        clusters.push(t);
        return t;
      },
      writeSshConfig(hosts) {
        const file = path.join(world.dir, `ssh_config_${Date.now()}`);
        const text = hosts
          .map(({ alias, sshd }) =>
            [
              `Host ${alias}`,
              `  HostName ${sshd.host}`,
              `  Port ${sshd.port}`,
              '  User root',
              `  IdentityFile ${world.clientKey}`,
              '',
            ].join('\n'),
          )
          .join('\n');
        fs.writeFileSync(file, text);
        return file;
      },
      async studio() {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-e2e-nodes-'));
        // The world's env names its own SPINDLE_HOME; the studio gets a fresh one per start.
        const { SPINDLE_HOME: _home, ...env } = world.env;
        const studio = await startStudio(home, env);
        studios.push({ studio, home });
        return studio;
      },
      async restart(studio) {
        const next = await studio.restart();
        studios.push({ studio: next, home: studio.home });
        return next;
      },
    };
    await use(lab);
    // Studios first (they hold SSH connections), then servers, namespaces, files.
    for (const { studio } of studios) await studio.stop();
    for (const home of new Set(studios.map((s) => s.home)))
      fs.rmSync(home, { recursive: true, force: true });
    for (const s of servers) await s.stop();
    for (const c of clusters) await c.cleanup();
    await world.cleanup();
  },
});

/** Opens the studio's page on the Nodes area, connected. */
export async function openNodes(page: Page, studio: Studio) {
  await page.goto(studio.url);
  await expect(page.getByTestId('connection-state')).toHaveText('Connected');
  await page.getByRole('tab', { name: 'Nodes' }).click();
  await expect(page.locator('main.area')).toHaveAttribute('data-area', 'nodes');
}

export { expect };
