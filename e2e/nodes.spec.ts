// The Nodes area end to end: the real UI in Chromium against `spindle serve`, talking to real
// OpenSSH servers (main/testing fixtures) on loopback and in network namespaces.
import fs from 'node:fs';
import os from 'node:os';
import { expect, openNodes, test } from './sshd';

test('adding a node asks to trust its unknown key; Escape rejects, accepting connects and the probe shows the machine; a swapped key is blocked', async ({
  page,
  lab,
}, testInfo) => {
  const sshd = await lab.loopback('loop');
  const studio = await lab.studio();
  await openNodes(page, studio);
  await expect(page.getByRole('heading', { name: 'No nodes yet' })).toBeVisible();

  await page.getByRole('button', { name: 'Add node' }).first().click();
  const form = page.getByTestId('node-form');
  await expect(form).toBeVisible();
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill('99999');
  await form.getByLabel('User').fill('root');
  await form.getByLabel('Key file').fill(lab.world.clientKey);
  await form.getByLabel('Name').fill('loop');
  // Validation errors name their field and keep the dialog open.
  await form.getByRole('button', { name: 'Test and add' }).click();
  await expect(form.getByText('Port must be a whole number from 1 to 65535.')).toBeVisible();
  await expect(form.getByLabel('Port')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByLabel('Port')).toBeFocused();
  await form.getByLabel('Port').fill(String(sshd.port));

  // First attempt: the key is unknown; Escape is a rejection, and nothing is trusted.
  await form.getByRole('button', { name: 'Test and add' }).click();
  const ask = page.getByTestId('prompt-hostkey-unknown');
  await expect(ask).toBeVisible();
  const expected = sshd.hostKey();
  await expect(ask.getByTestId('prompt-host')).toHaveText(`127.0.0.1:${sshd.port}`);
  await expect(ask.getByTestId('prompt-keytype')).toHaveText(expected.type);
  await expect(ask.getByTestId('prompt-fingerprint')).toHaveText(expected.fingerprint);
  // Reject holds the initial focus, and Tab stays inside the dialog.
  await expect(ask.getByRole('button', { name: 'Reject' })).toBeFocused();
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    expect(await ask.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(ask).toBeHidden();
  await expect(form.getByRole('alert')).toContainText(/host key|reject/i);
  expect(fs.readFileSync(lab.world.knownHosts, 'utf8')).toBe('');

  // Second attempt: trust it.
  await form.getByRole('button', { name: 'Test and add' }).click();
  await expect(ask).toBeVisible();
  await ask.getByRole('button', { name: 'Trust and connect' }).click();
  await expect(form).toBeHidden();
  expect(fs.readFileSync(lab.world.knownHosts, 'utf8')).toContain(expected.base64);

  // The new node is probed at once: ready, with this machine's CPU and RAM, and no GPU.
  const row = page.getByTestId('node-loop');
  await expect(row).toHaveAttribute('data-verdict', 'ready', { timeout: 60_000 });
  await expect(row.getByTestId('node-cpu')).toContainText(`${os.cpus().length} CPU`);
  await expect(row.getByTestId('node-cpu')).toContainText('GiB');
  await expect(row.getByTestId('node-gpus')).toHaveText('No GPU');
  await row.getByRole('button', { name: 'loop', exact: true }).click();
  await expect(page.locator('#node-loop-details')).toContainText(
    'No NVIDIA GPU found on this node',
  );
  await page.screenshot({ path: testInfo.outputPath('node-ready.png') });

  // The server is reinstalled (or impersonated): a new host key. The studio's next connection
  // (after a restart: a live session would otherwise be reused) is blocked.
  await sshd.rotateHostKey();
  const rotated = sshd.hostKey();
  const again = await lab.restart(studio);
  await openNodes(page, again);
  await expect(row).toHaveAttribute('data-verdict', 'ready');
  await row.getByRole('button', { name: 'Probe loop' }).click();
  const warn = page.getByTestId('prompt-hostkey-changed');
  await expect(warn).toBeVisible();
  await expect(warn).toHaveAttribute('role', 'alertdialog');
  await expect(warn.getByTestId('prompt-fingerprint-new')).toContainText(rotated.fingerprint);
  await expect(warn.getByTestId('prompt-fingerprint-known')).toContainText(expected.fingerprint);
  // No way to accept from here: the only buttons dismiss.
  const labels = await warn.getByRole('button').allInnerTexts();
  expect(labels.map((l) => l.trim()).sort()).toEqual(['Close', '×']);
  await page.screenshot({ path: testInfo.outputPath('hostkey-changed.png') });
  await warn.getByRole('button', { name: 'Close', exact: true }).click();
  await expect(warn).toBeHidden();
  await expect(row).toHaveAttribute('data-verdict', 'not_ready', { timeout: 30_000 });
  // Nothing logged in with the swapped key, and the trusted key is still the old one.
  expect(sshd.log()).not.toMatch(/Accepted publickey/);
  const known = fs.readFileSync(lab.world.knownHosts, 'utf8');
  expect(known).toContain(expected.base64);
  expect(known).not.toContain(rotated.base64);
});

test('importing two hosts from an ssh config into a cluster, then probing the cluster, shows rendezvous reachability', async ({
  page,
  lab,
}, testInfo) => {
  const pair = await lab.twoNodes(['node-a', 'node-b']);
  const config = lab.writeSshConfig(pair.nodes.map((n) => ({ alias: n.name, sshd: n.sshd })));
  const studio = await lab.studio();
  await openNodes(page, studio);

  await page.getByRole('button', { name: 'Import from SSH config' }).first().click();
  const dialog = page.getByTestId('import-dialog');
  await dialog.getByLabel('Config file').fill(config);
  await dialog.getByRole('button', { name: 'Read' }).click();
  await expect(dialog.getByText('Hosts (2)')).toBeVisible();
  await dialog.getByRole('checkbox', { name: /node-a/ }).check();
  await dialog.getByRole('checkbox', { name: /node-b/ }).check();
  await dialog.getByLabel('Put them in cluster').fill('pair');
  await dialog.getByRole('button', { name: 'Import 2 hosts' }).click();
  await expect(dialog).toBeHidden();

  const cluster = page.getByTestId('cluster-pair');
  await expect(cluster.getByTestId('node-node-a')).toBeVisible();
  await expect(cluster.getByTestId('node-node-b')).toBeVisible();
  await cluster.getByRole('button', { name: 'Probe cluster' }).click();

  // Both keys are new: the questions queue, one dialog at a time.
  const fingerprints = pair.nodes.map((x) => x.sshd.hostKey().fingerprint);
  for (let i = 0; i < pair.nodes.length; i++) {
    const ask = page.getByTestId('prompt-hostkey-unknown');
    await expect(ask).toBeVisible({ timeout: 30_000 });
    const fp = await ask.getByTestId('prompt-fingerprint').innerText();
    expect(fingerprints).toContain(fp);
    await ask.getByRole('button', { name: 'Trust and connect' }).click();
    // The host asks one question at a time: the next one replaces this one, or none is left.
    if (i < pair.nodes.length - 1)
      await expect(ask.getByTestId('prompt-fingerprint')).not.toHaveText(fp);
    else await expect(ask).toBeHidden();
  }

  // Every node dials the first node's rendezvous port, as torchrun's workers dial the master.
  const matrix = cluster.getByTestId('reach-matrix');
  await expect(matrix).toBeVisible({ timeout: 90_000 });
  const toMaster = matrix.locator('td[data-from="node-b"][data-to="node-a"]');
  await expect(toMaster).toHaveClass(/\bok\b/);
  await expect(toMaster).toHaveAttribute(
    'title',
    new RegExp(`node-b → node-a reaches ${pair.nodes[0].address.replace(/\./g, '\\.')}:\\d+`),
  );
  await expect(cluster.getByTestId('reach-summary')).toHaveText('every tested route connects');
  await expect(cluster.getByTestId('cluster-warnings')).toBeVisible();

  // Fit: the two-node CPU example needs 2 nodes × 2 processes; the probed pair has the cores.
  const fit = page.getByTestId('fit-panel');
  // It follows the document open in Plan until another config is picked.
  await expect(fit.getByLabel('Config')).toHaveValue('plan');
  await expect(fit.getByTestId('fit-need')).toContainText(/^needs \d+ nodes? × /);
  await fit.getByLabel('Config').selectOption('example:two-nodes.yaml');
  await expect(fit.getByTestId('fit-need')).toContainText('needs 2 nodes × 2 CPU processes');
  const pairFit = fit.getByTestId('fit-pair');
  const cores = os.cpus().length;
  await expect(pairFit).toHaveAttribute('data-fits', String(cores >= 2));
  if (cores >= 2) await expect(pairFit).toContainText('hosts: [node-a, node-b]');
  await page.screenshot({ path: testInfo.outputPath('cluster-probed.png') });
});

test('a key passphrase is asked in a password dialog, used for the connection and stored nowhere', async ({
  page,
  lab,
}) => {
  const sshd = await lab.loopback('locked');
  lab.world.trust(sshd);
  const studio = await lab.studio();
  await openNodes(page, studio);
  await page.getByRole('button', { name: 'Add node' }).first().click();
  const form = page.getByTestId('node-form');
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(sshd.port));
  await form.getByLabel('User').fill('root');
  await form.getByLabel('Key file').fill(lab.world.encryptedKey);
  await form.getByLabel('Name').fill('locked');
  await form.getByRole('button', { name: 'Test and add' }).click();

  const ask = page.getByTestId('prompt-passphrase');
  await expect(ask).toBeVisible();
  await expect(ask).toContainText(lab.world.encryptedKey);
  const input = ask.getByLabel('Passphrase');
  await expect(input).toBeFocused();
  await expect(input).toHaveAttribute('type', 'password');
  await input.fill(lab.world.passphrase);
  await page.keyboard.press('Enter');
  await expect(ask).toBeHidden();
  await expect(form).toBeHidden();
  await expect(page.getByTestId('node-locked')).toHaveAttribute('data-verdict', 'ready', {
    timeout: 60_000,
  });

  // Not in the studio's data dir, not in the page's storage.
  const files = fs
    .readdirSync(studio.home, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile());
  expect(files.length).toBeGreaterThan(0);
  for (const f of files)
    expect(
      fs.readFileSync(`${f.parentPath}/${f.name}`).includes(lab.world.passphrase),
      f.name,
    ).toBe(false);
  const stored = await page.evaluate(
    () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  );
  expect(stored).not.toContain(lab.world.passphrase);
});

test('a shell on a node runs hostname and shows the node’s answer', async ({
  page,
  lab,
}, testInfo) => {
  const sshd = await lab.loopback('shellhost');
  lab.world.trust(sshd);
  const studio = await lab.studio();
  await openNodes(page, studio);
  await page.getByRole('button', { name: 'Add node' }).first().click();
  const form = page.getByTestId('node-form');
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(sshd.port));
  await form.getByLabel('User').fill('root');
  await form.getByLabel('Key file').fill(lab.world.clientKey);
  await form.getByLabel('Name').fill('shellhost');
  await form.getByRole('button', { name: 'Test and add' }).click();
  await expect(form).toBeHidden();

  await page.getByRole('button', { name: 'Open a shell on shellhost' }).click();
  const shell = page.getByTestId('shell-shellhost');
  await expect(shell.getByTestId('terminal')).toHaveAttribute('data-state', 'open', {
    timeout: 30_000,
  });
  await shell.locator('.xterm').click();
  await page.keyboard.type('hostname\n');
  // A row that is exactly the answer (the prompt line has more on it).
  const name = os.hostname();
  await expect(
    shell
      .locator('.xterm-rows > div')
      .filter({ hasText: new RegExp(`^\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) }),
  ).not.toHaveCount(0, { timeout: 20_000 });
  await page.screenshot({ path: testInfo.outputPath('node-shell.png') });

  // Closing the tab ends the shell on the node.
  await page.getByRole('button', { name: 'Close the shell on shellhost' }).click();
  await expect(page.getByTestId('shell-panel')).toBeHidden();
});
