// Import hosts from an OpenSSH client config: list the Host entries, pick some, optionally put
// them in one cluster. Hosts already in the node list are shown but cannot be picked twice.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { HostCallError } from '../../../../app/protocol/client';
import type { z } from 'zod';
import type { NodeEntry, SshConfigHost } from '../../../../app/protocol/nodes';
import { host } from '../../host';
import { Dialog } from '../../components/prompts/Dialog';
import { endpoint } from './model';

type Host = z.infer<typeof SshConfigHost>;

interface Props {
  existing: string[];
  clusters: string[];
  onClose(): void;
  onImported(nodes: NodeEntry[], cluster: string | null): void;
}

export function ImportDialog({ existing, clusters, onClose, onImported }: Props) {
  const idBase = useId();
  const [file, setFile] = useState('');
  const [hosts, setHosts] = useState<Host[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [cluster, setCluster] = useState('');
  const [clusterError, setClusterError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  const load = useCallback(async (path: string) => {
    setLoading(true);
    setLoadError(null);
    try {
      const list = await host.request(
        'nodes.sshConfigHosts',
        path.trim() ? { file: path.trim() } : {},
      );
      setHosts(list);
      setPicked(new Set());
    } catch (e) {
      setHosts(null);
      setLoadError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, []);

  // The default config is read at once: most people import from ~/.ssh/config.
  useEffect(() => {
    void load('');
  }, [load]);

  const taken = new Set(existing);
  const toggle = (alias: string) =>
    setPicked((p) => {
      const n = new Set(p);
      if (n.has(alias)) n.delete(alias);
      else n.add(alias);
      return n;
    });
  const selectable = (hosts ?? []).filter((h) => !taken.has(h.alias));
  const allPicked = selectable.length > 0 && selectable.every((h) => picked.has(h.alias));

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaveError(null);
    const c = cluster.trim();
    if (c && !/^[A-Za-z0-9._-]+$/.test(c)) {
      setClusterError('Cluster may use letters, digits, ".", "_" and "-" only.');
      document.getElementById(`${idBase}-cluster`)?.focus();
      return;
    }
    if (picked.size === 0) {
      setSaveError('Pick at least one host to import.');
      return;
    }
    setSaving(true);
    try {
      const aliases = (hosts ?? []).map((h) => h.alias).filter((a) => picked.has(a));
      const nodes = await host.request('nodes.import', {
        aliases,
        ...(file.trim() ? { file: file.trim() } : {}),
        ...(c ? { cluster: c } : {}),
      });
      onImported(nodes, c || null);
    } catch (err) {
      const field = err instanceof HostCallError ? err.field : undefined;
      if (field === 'cluster') setClusterError(`Cluster: ${(err as Error).message}`);
      else setSaveError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Dialog
      title="Import from SSH config"
      onCancel={onClose}
      className="wide import-dialog"
      testId="import-dialog"
      initialFocus={fileRef}
    >
      <form
        className="import-file"
        onSubmit={(e) => {
          e.preventDefault();
          void load(file);
        }}
      >
        <label htmlFor={`${idBase}-file`}>Config file</label>
        <div className="row">
          <input
            id={`${idBase}-file`}
            ref={fileRef}
            value={file}
            placeholder="~/.ssh/config"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={loadError ? true : undefined}
            aria-describedby={loadError ? `${idBase}-file-err` : undefined}
            onChange={(e) => setFile(e.target.value)}
          />
          <button type="submit" className="ghost" disabled={loading}>
            {loading ? 'Reading…' : 'Read'}
          </button>
        </div>
        {loadError ? (
          <span className="field-error" id={`${idBase}-file-err`} role="alert">
            Config file: {loadError}
          </span>
        ) : null}
      </form>

      <form onSubmit={submit} noValidate>
        <fieldset className="host-pick" aria-busy={loading}>
          <legend>
            Hosts{hosts ? ` (${hosts.length})` : ''}
            {selectable.length > 1 ? (
              <button
                type="button"
                className="link"
                onClick={() =>
                  setPicked(allPicked ? new Set() : new Set(selectable.map((h) => h.alias)))
                }
              >
                {allPicked ? 'Select none' : 'Select all'}
              </button>
            ) : null}
          </legend>
          {hosts && hosts.length === 0 ? (
            <p className="muted">
              No Host entries with a concrete name in this file (wildcard patterns are skipped).
            </p>
          ) : null}
          {hosts && hosts.length > 0 ? (
            <ul className="host-list">
              {hosts.map((h) => {
                const already = taken.has(h.alias);
                return (
                  <li key={h.alias} className={already ? 'taken' : ''}>
                    <label>
                      <input
                        type="checkbox"
                        checked={picked.has(h.alias) || already}
                        disabled={already}
                        onChange={() => toggle(h.alias)}
                      />
                      <span className="alias">{h.alias}</span>
                      <span className="mono muted">{endpoint(h)}</span>
                      {h.proxyJump ? <span className="host-tag">via {h.proxyJump}</span> : null}
                      {h.proxyCommand ? (
                        <span className="host-tag" title={h.proxyCommand}>
                          via ProxyCommand
                        </span>
                      ) : null}
                      {h.identityFile ? (
                        <span className="host-tag mono">{h.identityFile}</span>
                      ) : null}
                      {already ? <span className="host-tag">already added</span> : null}
                    </label>
                  </li>
                );
              })}
            </ul>
          ) : null}
        </fieldset>

        <div className={`field${clusterError ? ' invalid' : ''}`}>
          <label htmlFor={`${idBase}-cluster`}>Put them in cluster</label>
          <input
            id={`${idBase}-cluster`}
            value={cluster}
            list={`${idBase}-clusters`}
            placeholder="none"
            autoComplete="off"
            spellCheck={false}
            aria-invalid={clusterError ? true : undefined}
            aria-describedby={clusterError ? `${idBase}-cluster-err` : undefined}
            onChange={(e) => {
              setCluster(e.target.value);
              setClusterError(null);
            }}
          />
          <datalist id={`${idBase}-clusters`}>
            {[...new Set(clusters)].map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
          {clusterError ? (
            <span className="field-error" id={`${idBase}-cluster-err`} role="alert">
              {clusterError}
            </span>
          ) : null}
        </div>
        {saveError ? (
          <p className="bad" role="alert">
            {saveError}
          </p>
        ) : null}
        <footer className="dialog-actions">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={saving || picked.size === 0}>
            {saving
              ? 'Importing…'
              : picked.size === 0
                ? 'Import hosts'
                : `Import ${picked.size} host${picked.size === 1 ? '' : 's'}`}
          </button>
        </footer>
      </form>
    </Dialog>
  );
}
