// The CLI's asker: questions go to the terminal (stderr for text, stdin for answers). Secrets are
// read with echo off and kept only in memory. Without a TTY on stdin (CI, pipes) it refuses, so
// a host key can never be accepted by a script that happens to pipe "yes".
import type { Answer, Asker, Question } from './asker';
import { NoOneToAsk } from './asker';

function readLine(prompt: string, hidden: boolean): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise<string>((resolve, reject) => {
    output.write(prompt);
    let buf = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    const done = (err: Error | null) => {
      input.setRawMode(wasRaw);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003' || ch === '\u0004')
          return done(new NoOneToAsk('cancelled at the terminal'));
        if (ch === '\u007f' || ch === '\b') {
          if (buf.length > 0) {
            buf = buf.slice(0, -1);
            if (!hidden) output.write('\b \b');
          }
          continue;
        }
        if (ch < ' ') continue;
        buf += ch;
        if (!hidden) output.write(ch);
      }
    };
    input.on('data', onData);
  });
}

export function describeQuestion(q: Question): string {
  switch (q.kind) {
    case 'hostkey-unknown':
      return [
        `The authenticity of ${q.key.label} (${q.key.host}, port ${q.key.port}) can't be established.`,
        `${q.key.keyType} key fingerprint is ${q.key.fingerprint}.`,
      ].join('\n');
    case 'hostkey-changed':
      return [
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
        '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
        `The host key of ${q.key.label} (${q.key.host}, port ${q.key.port}) is not the one on file.`,
        `Presented: ${q.key.keyType} ${q.key.fingerprint}`,
        `On file:   ${q.knownFingerprints.join(', ')} (${q.knownHostsFile})`,
        'Someone could be intercepting the connection, or the host was reinstalled. Spindle refuses to connect;',
        'if the change is expected, remove the old key (ssh-keygen -R) after checking the new one with the host owner.',
      ].join('\n');
    case 'passphrase':
      return `Key ${q.keyFile} (for ${q.node}) is encrypted.`;
    case 'password':
      return `Password for ${q.user} on ${q.node}.`;
    case 'keyboard-interactive':
      return [q.name, q.instructions].filter(Boolean).join('\n') || `${q.node} asks:`;
  }
}

export function ttyAsker(): Asker {
  // One question at a time: two connections prompting at once would interleave on the terminal.
  let queue: Promise<unknown> = Promise.resolve();
  const ask = async (q: Question): Promise<Answer> => {
    if (!process.stdin.isTTY) throw new NoOneToAsk('no terminal to ask on (stdin is not a TTY)');
    process.stderr.write(describeQuestion(q) + '\n');
    switch (q.kind) {
      case 'hostkey-unknown': {
        for (;;) {
          const a = (await readLine('Trust this key and add it to known_hosts (yes/no)? ', false))
            .trim()
            .toLowerCase();
          if (a === 'yes') return { accept: true };
          if (a === 'no' || a === '') return { accept: false };
          process.stderr.write('Please type "yes" or "no".\n');
        }
      }
      case 'hostkey-changed':
        return { accept: false };
      case 'passphrase':
        return { values: [await readLine('Passphrase: ', true)] };
      case 'password':
        return { values: [await readLine('Password: ', true)] };
      case 'keyboard-interactive': {
        const values: string[] = [];
        for (const p of q.prompts) values.push(await readLine(p.prompt, !p.echo));
        return { values };
      }
    }
  };
  return {
    ask(q) {
      const next = queue.then(() => ask(q));
      queue = next.catch(() => undefined);
      return next;
    },
    tell(q) {
      process.stderr.write(describeQuestion(q) + '\n');
    },
  };
}
