// The Nodes area: the cluster at a glance. Every node with its verdict and probe facts, grouped
// into the clusters run configs target; add by form or import from ~/.ssh/config; probe a node
// or a whole cluster; open a shell; and which clusters can run the config open in Plan.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { NodeEntry } from '../../../../app/protocol/nodes';
import { host } from '../../host';
import { Dialog } from '../../components/prompts/Dialog';
import { ClusterCard } from './ClusterCard';
import { FitPanel } from './FitPanel';
import { ImportDialog } from './ImportDialog';
import { NodeFormDialog } from './NodeFormDialog';
import { ShellPanel } from './ShellPanel';
import { groupByCluster } from './model';
import { probeKey, useNodes } from './store';
import './nodes.css';

// The app frame mounts the host-prompt dialogs through this module (one import, one element).
export { PromptHost } from '../../components/prompts/PromptHost';

type DialogState =
  | { kind: 'add' }
  | { kind: 'import' }
  | { kind: 'edit'; node: NodeEntry }
  | { kind: 'remove'; node: NodeEntry }
  | null;
interface Notice {
  text: string;
  tone: 'ok' | 'bad';
  /** An offer to probe; it goes away once that probe has started, however it was started. */
  action?: { label: string; probeKey: string; run(): void };
  at?: number;
}

/** A clock for "5 min ago" labels that ticks while the area is open. */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function NodesArea() {
  const nodes = useNodes((s) => s.nodes);
  const status = useNodes((s) => s.status);
  const error = useNodes((s) => s.error);
  const shells = useNodes((s) => s.shells);
  const probes = useNodes((s) => s.probes);
  const start = useNodes((s) => s.start);
  const probe = useNodes((s) => s.probe);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const now = useNow(30_000);
  const addRef = useRef<HTMLButtonElement>(null);

  useEffect(() => start(), [start]);
  const offered = notice?.action?.probeKey;
  const offeredAt = notice?.at ?? 0;
  useEffect(() => {
    if (offered && probes[offered] && probes[offered].startedAt >= offeredAt) setNotice(null);
  }, [offered, offeredAt, probes]);
  // Good news without an action fades after a while; failures and offers stay until dismissed.
  useEffect(() => {
    if (!notice || notice.tone !== 'ok' || notice.action) return;
    const t = setTimeout(() => setNotice((n) => (n === notice ? null : n)), 8000);
    return () => clearTimeout(t);
  }, [notice]);

  const groups = useMemo(() => groupByCluster(nodes), [nodes]);
  const clusters = useMemo(
    () => groups.map((g) => g.name).filter((n): n is string => n !== null),
    [groups],
  );
  const counts = useMemo(() => {
    const c = { ready: 0, warning: 0, not_ready: 0, unknown: 0 };
    for (const n of nodes) c[n.lastProbe?.verdict ?? 'unknown']++;
    return c;
  }, [nodes]);

  const onSaved = (node: NodeEntry, isNew: boolean) => {
    setDialog(null);
    setNotice({
      text: isNew ? `Added ${node.name}; probing it now.` : `Saved ${node.name}.`,
      tone: 'ok',
    });
    // A new node was just reached: look at what it has straight away.
    if (isNew) probe([node.name]);
  };

  const onImported = (added: NodeEntry[], cluster: string | null) => {
    setDialog(null);
    const names = added.map((n) => n.name);
    setNotice({
      text: `Imported ${names.join(', ')}${cluster ? ` into cluster ${cluster}` : ''}.`,
      tone: 'ok',
      at: Date.now(),
      action: cluster
        ? {
            label: `Probe cluster ${cluster}`,
            probeKey: probeKey({ cluster }),
            run: () => probe(names, { cluster }),
          }
        : {
            label: `Probe ${names.length === 1 ? 'it' : 'them'}`,
            probeKey: `import:${names.join(',')}`,
            run: () => probe(names, { key: `import:${names.join(',')}` }),
          },
    });
  };

  const remove = async (node: NodeEntry) => {
    setDialog(null);
    try {
      await host.request('nodes.remove', { name: node.name });
      setNotice({ text: `Removed ${node.name}. Nothing on the machine was changed.`, tone: 'ok' });
    } catch (e) {
      setNotice({ text: `Could not remove ${node.name}: ${(e as Error).message}`, tone: 'bad' });
    }
  };

  return (
    <div className={`nodes-area${shells.length ? ' with-shell' : ''}`}>
      <div className="nodes-scroll">
        <header className="nodes-head">
          <div>
            <h1>Nodes</h1>
            <p className="muted" data-testid="nodes-summary">
              {nodes.length === 0
                ? 'GPU machines the studio reaches over SSH.'
                : `${nodes.length} node${nodes.length === 1 ? '' : 's'}${clusters.length ? ` in ${clusters.length} cluster${clusters.length === 1 ? '' : 's'}` : ''} · ${counts.ready} ready · ${counts.warning} warning · ${counts.not_ready} not ready${counts.unknown ? ` · ${counts.unknown} not probed` : ''}`}
            </p>
          </div>
          <div className="head-actions">
            <button type="button" className="ghost" onClick={() => setDialog({ kind: 'import' })}>
              Import from SSH config
            </button>
            <button
              ref={addRef}
              type="button"
              className="primary"
              onClick={() => setDialog({ kind: 'add' })}
            >
              Add node
            </button>
          </div>
        </header>

        <div className="nodes-notice-slot" aria-live="polite">
          {notice ? (
            <div
              className={`nodes-notice ${notice.tone}`}
              role={notice.tone === 'bad' ? 'alert' : undefined}
            >
              <span>{notice.text}</span>
              {notice.action ? (
                <button
                  type="button"
                  className="ghost small"
                  onClick={() => {
                    notice.action!.run();
                    setNotice(null);
                  }}
                >
                  {notice.action.label}
                </button>
              ) : null}
              <button
                type="button"
                className="nodes-notice-x"
                aria-label="Dismiss"
                onClick={() => setNotice(null)}
              >
                ×
              </button>
            </div>
          ) : null}
        </div>

        {status === 'error' ? (
          <div className="nodes-notice bad" role="alert">
            Could not load the node list: {error}
          </div>
        ) : null}

        {nodes.length > 0 ? <FitPanel nodes={nodes} /> : null}

        {status !== 'ready' && status !== 'error' ? (
          <p className="muted loading">Loading nodes…</p>
        ) : nodes.length === 0 && status === 'ready' ? (
          <div className="nodes-empty">
            <h2>No nodes yet</h2>
            <p>
              Add a GPU machine you reach over SSH, or import hosts you already use from your SSH
              config. Spindle checks the host key, then probes the GPUs, drivers, PyTorch and disk.
            </p>
            <div className="head-actions">
              <button type="button" className="ghost" onClick={() => setDialog({ kind: 'import' })}>
                Import from SSH config
              </button>
              <button type="button" className="primary" onClick={() => setDialog({ kind: 'add' })}>
                Add node
              </button>
            </div>
          </div>
        ) : (
          groups.map((g) => (
            <ClusterCard
              key={g.name ?? '\0none'}
              name={g.name}
              nodes={g.nodes}
              now={now}
              onEdit={(node) => setDialog({ kind: 'edit', node })}
              onRemove={(node) => setDialog({ kind: 'remove', node })}
            />
          ))
        )}
      </div>

      {shells.length ? <ShellPanel /> : null}

      {dialog?.kind === 'add' || dialog?.kind === 'edit' ? (
        <NodeFormDialog
          editing={dialog.kind === 'edit' ? dialog.node : undefined}
          clusters={clusters}
          onClose={() => setDialog(null)}
          onSaved={onSaved}
        />
      ) : null}
      {dialog?.kind === 'import' ? (
        <ImportDialog
          existing={nodes.map((n) => n.name)}
          clusters={clusters}
          onClose={() => setDialog(null)}
          onImported={onImported}
        />
      ) : null}
      {dialog?.kind === 'remove' ? (
        <RemoveDialog
          node={dialog.node}
          onCancel={() => setDialog(null)}
          onConfirm={() => remove(dialog.node)}
        />
      ) : null}
    </div>
  );
}

function RemoveDialog({
  node,
  onCancel,
  onConfirm,
}: {
  node: NodeEntry;
  onCancel(): void;
  onConfirm(): void;
}) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      title={`Remove ${node.name}?`}
      onCancel={onCancel}
      initialFocus={cancelRef}
      testId="remove-dialog"
      actions={
        <>
          <button ref={cancelRef} type="button" className="ghost" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="primary danger" onClick={onConfirm}>
            Remove
          </button>
        </>
      }
    >
      <p>
        The node leaves the studio&apos;s list{node.cluster ? ` and cluster ${node.cluster}` : ''}.
        Nothing on the machine changes.
      </p>
    </Dialog>
  );
}
