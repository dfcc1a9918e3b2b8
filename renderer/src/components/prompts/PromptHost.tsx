// The one place host questions are asked: mounted once in the app frame so a host-key or password
// prompt shows whichever area is open (a run launch needs them as much as "Add node" does).
// Prompts queue in arrival order; one dialog at a time. Answers go straight to the host and are
// never kept: the secret inputs live in component state that is dropped when the dialog closes.
import { useEffect, useRef, useState } from 'react';
import type { Prompt } from '../../../../app/protocol/prompts';
import { host, hostLink } from '../../host';
import { Dialog } from './Dialog';

type Answer = { accept?: boolean; values?: string[] };

export function PromptHost() {
  const [queue, setQueue] = useState<Prompt[]>([]);
  const [error, setError] = useState<string | null>(null);

  // (Re)subscribe whenever the link comes up: the host replays prompts still waiting.
  useEffect(() => {
    let unsubscribe: (() => void) | null = null;
    const stop = hostLink.onState((state) => {
      unsubscribe?.();
      unsubscribe = null;
      if (state !== 'connected') return;
      setQueue([]);
      unsubscribe = host.subscribe('prompts.pending', {}, (e) => {
        if (e.type === 'open')
          setQueue((q) => (q.some((p) => p.id === e.prompt.id) ? q : [...q, e.prompt]));
        else setQueue((q) => q.filter((p) => p.id !== e.id));
      });
    });
    return () => {
      stop();
      unsubscribe?.();
    };
  }, []);

  const current = queue[0];
  const answer = (p: Prompt, a: Answer) => {
    // Drop it at once: the host's `closed` follows, and a second click must not answer twice.
    setQueue((q) => q.filter((x) => x.id !== p.id));
    setError(null);
    host.request('prompts.answer', { id: p.id, ...a }).catch((e: Error) => setError(e.message));
  };

  if (!current)
    return error ? <PromptError message={error} onDismiss={() => setError(null)} /> : null;
  const more = queue.length - 1;
  // Keyed by id: a new prompt is a fresh dialog with empty inputs and fresh focus.
  return (
    <PromptDialog
      key={current.id}
      prompt={current}
      more={more}
      onAnswer={(a) => answer(current, a)}
    />
  );
}

function PromptError({ message, onDismiss }: { message: string; onDismiss(): void }) {
  return (
    <div className="prompt-toast" role="alert">
      Could not send the answer: {message}
      <button type="button" className="ghost" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

function PromptDialog({
  prompt,
  more,
  onAnswer,
}: {
  prompt: Prompt;
  more: number;
  onAnswer(a: Answer): void;
}) {
  const queued = more > 0 ? <span className="prompt-more">{more} more waiting</span> : null;
  switch (prompt.kind) {
    case 'hostkey-unknown':
      return <UnknownHostKey prompt={prompt} queued={queued} onAnswer={onAnswer} />;
    case 'hostkey-changed':
      return (
        <ChangedHostKey
          prompt={prompt}
          queued={queued}
          onDismiss={() => onAnswer({ accept: false })}
        />
      );
    default:
      return <SecretPrompt prompt={prompt} queued={queued} onAnswer={onAnswer} />;
  }
}

type Of<K extends Prompt['kind']> = Extract<Prompt, { kind: K }>;

const where = (k: { host: string; port: number }) =>
  k.port === 22 ? k.host : `${k.host}:${k.port}`;

function UnknownHostKey({
  prompt,
  queued,
  onAnswer,
}: {
  prompt: Of<'hostkey-unknown'>;
  queued: React.ReactNode;
  onAnswer(a: Answer): void;
}) {
  const { key } = prompt;
  // Reject has the initial focus: Enter on a dialog nobody read must not trust a key.
  const rejectRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      title="Unknown host key"
      testId="prompt-hostkey-unknown"
      onCancel={() => onAnswer({ accept: false })}
      initialFocus={rejectRef}
      description={
        <>
          Spindle has never connected to <strong>{key.label}</strong> before. Compare the
          fingerprint with the server&apos;s own key before trusting it.
        </>
      }
      actions={
        <>
          {queued}
          <button
            ref={rejectRef}
            type="button"
            className="ghost"
            onClick={() => onAnswer({ accept: false })}
          >
            Reject
          </button>
          <button type="button" className="primary" onClick={() => onAnswer({ accept: true })}>
            Trust and connect
          </button>
        </>
      }
    >
      <dl className="facts">
        <dt>Host</dt>
        <dd data-testid="prompt-host">{where(key)}</dd>
        {key.label !== key.host ? (
          <>
            <dt>Name</dt>
            <dd>{key.label}</dd>
          </>
        ) : null}
        <dt>Key type</dt>
        <dd data-testid="prompt-keytype">{key.keyType}</dd>
        <dt>Fingerprint</dt>
        <dd>
          <code className="fingerprint" data-testid="prompt-fingerprint">
            {key.fingerprint}
          </code>
        </dd>
      </dl>
      <p className="hint">
        On the server,{' '}
        <code>ssh-keygen -lf /etc/ssh/ssh_host_{keyFileType(key.keyType)}_key.pub</code> prints the
        fingerprint to compare with.
      </p>
    </Dialog>
  );
}

/** ssh-ed25519 → ed25519, ecdsa-sha2-nistp256 → ecdsa, ssh-rsa/rsa-sha2-* → rsa: the host key file names. */
function keyFileType(keyType: string): string {
  if (keyType.includes('ed25519')) return 'ed25519';
  if (keyType.includes('ecdsa')) return 'ecdsa';
  if (keyType.includes('rsa')) return 'rsa';
  return '*';
}

function ChangedHostKey({
  prompt,
  queued,
  onDismiss,
}: {
  prompt: Of<'hostkey-changed'>;
  queued: React.ReactNode;
  onDismiss(): void;
}) {
  const { key } = prompt;
  const target = key.port === 22 ? key.host : `[${key.host}]:${key.port}`;
  // Deliberately no way to accept here: a changed key is either a reinstalled server or someone in
  // the middle, and only the person who can tell removes the old entry, outside the studio.
  return (
    <Dialog
      title="Host key changed — connection blocked"
      role="alertdialog"
      tone="danger"
      testId="prompt-hostkey-changed"
      onCancel={onDismiss}
      description={
        <>
          The key <strong>{key.label}</strong> ({where(key)}) offered does not match the one Spindle
          trusted before. Someone may be intercepting the connection, or the server was reinstalled.
          Spindle did not connect.
        </>
      }
      actions={
        <>
          {queued}
          <button type="button" className="primary" onClick={onDismiss}>
            Close
          </button>
        </>
      }
    >
      <dl className="facts">
        <dt>Offered now</dt>
        <dd>
          <code className="fingerprint bad" data-testid="prompt-fingerprint-new">
            {key.keyType} {key.fingerprint}
          </code>
        </dd>
        <dt>{prompt.knownFingerprints.length > 1 ? 'Trusted keys' : 'Trusted key'}</dt>
        <dd data-testid="prompt-fingerprint-known">
          {prompt.knownFingerprints.map((f) => (
            <code key={f} className="fingerprint">
              {f}
            </code>
          ))}
        </dd>
        <dt>Known hosts file</dt>
        <dd>
          <code>{prompt.knownHostsFile}</code>
        </dd>
      </dl>
      <p className="hint">
        If you know the server&apos;s key really changed, remove the old entry and connect again:
        <br />
        <code className="copyable">
          ssh-keygen -R &apos;{target}&apos; -f &apos;{prompt.knownHostsFile}&apos;
        </code>
      </p>
    </Dialog>
  );
}

function SecretPrompt({
  prompt,
  queued,
  onAnswer,
}: {
  prompt: Of<'passphrase' | 'password' | 'keyboard-interactive'>;
  queued: React.ReactNode;
  onAnswer(a: Answer): void;
}) {
  const fields =
    prompt.kind === 'keyboard-interactive'
      ? prompt.prompts.map((p, i) => ({
          label: p.prompt.trim() || `Answer ${i + 1}`,
          echo: p.echo,
        }))
      : [{ label: prompt.kind === 'passphrase' ? 'Passphrase' : 'Password', echo: false }];
  const [values, setValues] = useState<string[]>(() => fields.map(() => ''));
  const title =
    prompt.kind === 'passphrase'
      ? 'Key passphrase'
      : prompt.kind === 'password'
        ? `Password for ${prompt.user}@${prompt.node}`
        : prompt.name || `Sign in to ${prompt.node}`;
  const description =
    prompt.kind === 'passphrase' ? (
      <>
        <strong>{prompt.node}</strong> needs the passphrase of <code>{prompt.keyFile}</code>.
      </>
    ) : prompt.kind === 'password' ? (
      <>
        <strong>{prompt.node}</strong> asks for a password.
      </>
    ) : (
      <>
        <strong>{prompt.node}</strong> asks:{prompt.instructions ? ` ${prompt.instructions}` : ''}
      </>
    );
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const v = values;
    setValues(fields.map(() => ''));
    onAnswer({ accept: true, values: v });
  };
  return (
    <Dialog
      title={title}
      testId={`prompt-${prompt.kind}`}
      onCancel={() => onAnswer({ accept: false })}
      description={description}
    >
      {/* autocomplete off and no name attributes: the browser has nothing to offer to save. */}
      <form className="secret-form" onSubmit={submit} autoComplete="off">
        {fields.map((f, i) => (
          <label key={i} className="field">
            <span>{f.label}</span>
            <input
              type={f.echo ? 'text' : 'password'}
              autoComplete={f.echo ? 'off' : 'new-password'}
              spellCheck={false}
              value={values[i]}
              onChange={(e) => setValues((vs) => vs.map((v, j) => (j === i ? e.target.value : v)))}
            />
          </label>
        ))}
        <p className="hint">Used for this connection only; Spindle does not store it.</p>
        <footer className="dialog-actions">
          {queued}
          <button type="button" className="ghost" onClick={() => onAnswer({ accept: false })}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Continue
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
