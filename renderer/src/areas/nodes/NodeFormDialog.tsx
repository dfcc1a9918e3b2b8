// Add or edit a node: host, port, user, key file, ProxyJump and cluster. "Test connection" tries
// it without saving; saving a new node tests first too (the host asks for trust and secrets
// through the prompt dialogs, which stack above this one).
import { useId, useMemo, useRef, useState } from 'react';
import { HostCallError } from '../../../../app/protocol/client';
import type { NodeEntry } from '../../../../app/protocol/nodes';
import { host } from '../../host';
import { Dialog } from '../../components/prompts/Dialog';
import {
  FIELD_LABELS,
  emptyForm,
  formFieldOf,
  formFromSpec,
  suggestName,
  validateForm,
  type FormErrors,
  type FormField,
  type NodeForm,
} from './model';

interface Props {
  /** The node being edited; absent when adding. */
  editing?: NodeEntry;
  clusters: string[];
  onClose(): void;
  /** Called with the saved node (so the area can probe it). */
  onSaved(node: NodeEntry, isNew: boolean): void;
}

/** Fields as laid out, so the first invalid one focused is the first one seen. */
const VISUAL_ORDER: FormField[] = [
  'host',
  'port',
  'user',
  'name',
  'identityFile',
  'proxyJump',
  'cluster',
  'python',
  'workdir',
];

type TestState =
  { state: 'idle' } | { state: 'running' } | { state: 'ok' | 'failed'; message: string };

const HELP: Partial<Record<FormField, string>> = {
  name: 'How run configs refer to this node (launch.hosts).',
  host: 'DNS name or IP address the studio connects to.',
  user: 'Leave empty for your local user name.',
  identityFile:
    'Private key on this computer, e.g. ~/.ssh/id_ed25519. Empty: the SSH agent and default keys.',
  proxyJump: 'Bastion to hop through: user@host:port, or a node / ssh-config name.',
  cluster: 'Nodes with the same cluster name train together.',
  python: 'Python with PyTorch on the node; overrides the run config’s launch.python.',
  workdir: 'Where runs and the runtime live on the node; overrides launch.workdir.',
};

export function NodeFormDialog({ editing, clusters, onClose, onSaved }: Props) {
  const [form, setForm] = useState<NodeForm>(() => (editing ? formFromSpec(editing) : emptyForm()));
  const [errors, setErrors] = useState<FormErrors>({});
  const [nameTouched, setNameTouched] = useState(Boolean(editing));
  const [test, setTest] = useState<TestState>({ state: 'idle' });
  const [saving, setSaving] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const firstRef = useRef<HTMLInputElement>(null);
  const idBase = useId();
  const listId = `${idBase}-clusters`;
  const busy = saving || test.state === 'running';

  const set = (f: FormField, v: string) => {
    setForm((old) => {
      const next = { ...old, [f]: v };
      // Until the user names the node, the name follows the host.
      if (f === 'host' && !nameTouched) next.name = suggestName(v);
      return next;
    });
    if (f === 'name') setNameTouched(true);
    // An edited field's old error no longer applies; the rest stay until the next check.
    setErrors((e) => ({
      ...e,
      [f]: undefined,
      ...(f === 'host' && !nameTouched ? { name: undefined } : {}),
    }));
    if (test.state !== 'idle' && test.state !== 'running') setTest({ state: 'idle' });
  };

  /** Validate; on failure mark the fields and focus the first bad one. */
  const check = () => {
    const r = validateForm(form);
    if (r.errors) {
      setErrors(r.errors);
      const first = VISUAL_ORDER.find((f) => r.errors[f]);
      if (first) document.getElementById(`${idBase}-${first}`)?.focus();
      return null;
    }
    setErrors({});
    return r.spec;
  };

  const hostError = (e: unknown) => {
    const field = e instanceof HostCallError ? formFieldOf(e.field) : null;
    const message = e instanceof Error ? e.message : String(e);
    if (field) {
      setErrors((old) => ({ ...old, [field]: `${FIELD_LABELS[field]}: ${message}` }));
      document.getElementById(`${idBase}-${field}`)?.focus();
    } else setFormError(message);
  };

  const runTest = async () => {
    setFormError(null);
    const spec = check();
    if (!spec) return;
    setTest({ state: 'running' });
    try {
      const r = await host.request('nodes.test', { node: spec });
      setTest({ state: r.ok ? 'ok' : 'failed', message: r.message });
    } catch (e) {
      setTest({ state: 'idle' });
      hostError(e);
    }
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const spec = check();
    if (!spec) return;
    setSaving(true);
    try {
      const saved = editing
        ? await host.request('nodes.update', { name: editing.name, node: spec })
        : await host.request('nodes.add', { node: spec, test: true });
      onSaved(saved, !editing);
    } catch (err) {
      hostError(err);
    } finally {
      setSaving(false);
    }
  };

  const field = (
    f: FormField,
    opts: {
      placeholder?: string;
      type?: string;
      list?: string;
      inputMode?: 'numeric';
      required?: boolean;
      autoFocus?: boolean;
    } = {},
  ) => {
    const id = `${idBase}-${f}`;
    const err = errors[f];
    const help = HELP[f];
    return (
      <div className={`field${err ? ' invalid' : ''}`} key={f}>
        <label htmlFor={id}>
          {FIELD_LABELS[f]}
          {opts.required ? <span aria-hidden> *</span> : null}
        </label>
        <input
          id={id}
          ref={opts.autoFocus ? firstRef : undefined}
          type={opts.type ?? 'text'}
          value={form[f]}
          placeholder={opts.placeholder}
          list={opts.list}
          inputMode={opts.inputMode}
          aria-required={opts.required || undefined}
          aria-invalid={err ? true : undefined}
          aria-describedby={
            [err ? `${id}-err` : '', help ? `${id}-help` : ''].filter(Boolean).join(' ') ||
            undefined
          }
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          onChange={(e) => set(f, e.target.value)}
        />
        {err ? (
          <span className="field-error" id={`${id}-err`} role="alert">
            {err}
          </span>
        ) : help ? (
          <span className="field-help" id={`${id}-help`}>
            {help}
          </span>
        ) : null}
      </div>
    );
  };

  const clusterOptions = useMemo(() => [...new Set(clusters)].sort(), [clusters]);

  return (
    <Dialog
      title={editing ? `Edit ${editing.name}` : 'Add a node'}
      onCancel={onClose}
      initialFocus={firstRef}
      className="wide node-form"
      testId="node-form"
    >
      <form onSubmit={save} noValidate aria-busy={busy}>
        <div className="form-grid">
          {field('host', { placeholder: 'gpu-01.example.org', required: true, autoFocus: true })}
          {field('port', { inputMode: 'numeric' })}
          {field('user', { placeholder: 'ubuntu' })}
          {field('name', { placeholder: 'gpu-01', required: true })}
          {field('identityFile', { placeholder: '~/.ssh/id_ed25519' })}
          {field('proxyJump', { placeholder: 'bastion or user@bastion:22' })}
          {field('cluster', { placeholder: 'none', list: listId })}
        </div>
        {/* Open when editing a node that already uses them, so nothing set is hidden. */}
        <details className="advanced" open={Boolean(editing?.python || editing?.workdir)}>
          <summary>Python and work directory</summary>
          <div className="form-grid two">
            {field('python', { placeholder: 'python3' })}
            {field('workdir', { placeholder: '~/.spindle' })}
          </div>
        </details>
        <datalist id={listId}>
          {clusterOptions.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        <div className="test-line" aria-live="polite" data-testid="node-test-result">
          {test.state === 'running' ? <span className="muted">Connecting…</span> : null}
          {test.state === 'ok' ? <span className="ok">✓ {test.message}</span> : null}
          {test.state === 'failed' ? <span className="bad">✗ {test.message}</span> : null}
          {formError ? (
            <span className="bad" role="alert">
              {formError}
            </span>
          ) : null}
        </div>
        <footer className="dialog-actions">
          <button
            type="button"
            className="ghost"
            onClick={runTest}
            disabled={busy}
            style={{ marginRight: 'auto' }}
          >
            {test.state === 'running' ? 'Testing…' : 'Test connection'}
          </button>
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {saving ? (editing ? 'Saving…' : 'Connecting…') : editing ? 'Save' : 'Test and add'}
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
