// Open and Save As by path. Serve mode has no native file dialog (and the Electron preload
// exposes only the protocol), so both doors use a path field with the recent files and the
// shipped examples one keystroke away.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Dialog } from '../../components/prompts/Dialog';
import { exampleFile, isDirty, usePlan, type Example, type RecentFile } from './store';

function timeAgo(ms: number): string {
  const s = (Date.now() - ms) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

type Choice = { kind: 'recent'; file: RecentFile } | { kind: 'example'; example: Example };

/** An error from the last open/save, shown in the dialog itself (the page behind it is inert). */
function DialogError() {
  const notice = usePlan((s) => s.notice);
  if (!notice || notice.kind === 'info') return null;
  return (
    <p className="hf-error" role="alert" data-testid="dialog-error">
      {notice.text}
    </p>
  );
}

export function OpenDialog() {
  const recent = usePlan((s) => s.recent);
  const dirty = usePlan(isDirty);
  const file = usePlan((s) => s.file);
  const examples = usePlan((s) => s.examples);
  const busy = usePlan((s) => s.busy);
  const [path, setPath] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    void usePlan.getState().loadLists();
  }, []);

  const q = path.trim().toLowerCase();
  const choices = useMemo<Choice[]>(
    () => [
      ...recent
        .filter((f) => !q || f.path.toLowerCase().includes(q))
        .map((file) => ({ kind: 'recent' as const, file })),
      ...examples
        .filter((e) => !q || e.name.toLowerCase().includes(q) || e.title.toLowerCase().includes(q))
        .map((example) => ({ kind: 'example' as const, example })),
    ],
    [recent, examples, q],
  );
  const close = () => usePlan.getState().setDialog(null);
  const choose = (c: Choice) => {
    if (c.kind === 'recent') void usePlan.getState().openPath(c.file.path);
    else {
      usePlan.getState().setDialog(null);
      usePlan.getState().openDocument(c.example.text, exampleFile(c.example));
    }
  };
  // A typed path wins over the list; with nothing typed, Enter opens the highlighted entry.
  const submit = () => {
    const looksLikePath = /^(~|\/|[A-Za-z]:[\\/])/.test(path.trim());
    if (looksLikePath) void usePlan.getState().openPath(path.trim());
    else if (choices[active]) choose(choices[active]);
  };

  return (
    <Dialog
      title="Open a run config"
      onCancel={close}
      testId="open-dialog"
      className="wide"
      initialFocus={input}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label className="field-label" htmlFor="open-path">
          Path on the host <span className="muted">(absolute, or starting with ~/)</span>
        </label>
        <input
          id="open-path"
          ref={input}
          className="path-input"
          data-testid="open-path"
          type="text"
          spellCheck={false}
          autoComplete="off"
          placeholder="~/configs/llama3-8b-128k.yaml — or type to filter the list"
          value={path}
          aria-controls="open-choices"
          aria-activedescendant={choices[active] ? `open-choice-${active}` : undefined}
          onChange={(e) => {
            setPath(e.target.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              setActive((i) => Math.min(i + 1, choices.length - 1));
            } else if (e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((i) => Math.max(i - 1, 0));
            }
          }}
        />
        <DialogError />
        {dirty && (
          <p className="qc-note" role="note">
            {file?.name ?? 'The config'} has unsaved changes; opening another config replaces them
            (save first with <kbd>Ctrl+S</kbd>).
          </p>
        )}
        <ul
          id="open-choices"
          className="choices"
          role="listbox"
          aria-label="Recent files and examples"
        >
          {choices.length === 0 && (
            <li className="muted empty">Nothing matches; press Enter to open the path as typed.</li>
          )}
          {choices.map((c, i) => {
            const first = i === 0 || choices[i - 1].kind !== c.kind;
            return (
              <li key={c.kind === 'recent' ? c.file.path : c.example.name} role="presentation">
                {first && (
                  <div className="choices-head">{c.kind === 'recent' ? 'Recent' : 'Examples'}</div>
                )}
                <div
                  id={`open-choice-${i}`}
                  role="option"
                  aria-selected={i === active}
                  className={`choice ${i === active ? 'active' : ''}`}
                  data-testid={c.kind === 'recent' ? 'recent-file' : 'example'}
                  onMouseEnter={() => setActive(i)}
                  onClick={() => choose(c)}
                >
                  {c.kind === 'recent' ? (
                    <>
                      <span className="choice-name">{c.file.name}</span>
                      <span className="choice-sub mono">{c.file.path}</span>
                      <span className="choice-meta">{timeAgo(c.file.modifiedAt)}</span>
                    </>
                  ) : (
                    <>
                      <span className="choice-name">{c.example.name}</span>
                      <span className="choice-sub">{c.example.title}</span>
                    </>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
        <div className="dialog-actions">
          <button type="button" className="ghost" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Open
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function SaveAsDialog() {
  const file = usePlan((s) => s.file);
  const busy = usePlan((s) => s.busy);
  const recent = usePlan((s) => s.recent);
  const input = useRef<HTMLInputElement>(null);
  // Suggest the folder of the most recent file and the config's name: usually one edit away.
  const suggestion = useMemo(() => {
    if (file?.path) return file.path;
    const dir = recent[0]?.path.replace(/[^\\/]*$/, '') ?? '~/';
    const name =
      (/^name:\s*([A-Za-z0-9._-]+)/m.exec(usePlan.getState().text)?.[1] ?? 'run-config') + '.yaml';
    return dir + name;
  }, [file, recent]);
  const [path, setPath] = useState(suggestion);
  useEffect(() => setPath(suggestion), [suggestion]);
  useEffect(() => {
    void usePlan.getState().loadLists();
  }, []);
  const close = () => usePlan.getState().setDialog(null);
  return (
    <Dialog
      title="Save the run config as"
      onCancel={close}
      testId="save-dialog"
      initialFocus={input}
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (path.trim()) void usePlan.getState().save({ path: path.trim() });
        }}
      >
        <label className="field-label" htmlFor="save-path">
          Path on the host
        </label>
        <input
          id="save-path"
          ref={input}
          className="path-input"
          data-testid="save-path"
          type="text"
          spellCheck={false}
          value={path}
          onChange={(e) => setPath(e.target.value)}
          onFocus={(e) => {
            // Select the file name, not the folder: the usual edit is a new name.
            const v = e.target.value;
            const start = Math.max(v.lastIndexOf('/'), v.lastIndexOf('\\')) + 1;
            const dot = v.lastIndexOf('.');
            e.target.setSelectionRange(start, dot > start ? dot : v.length);
          }}
        />
        <p className="muted small">Missing folders are created. An existing file is replaced.</p>
        <DialogError />
        <div className="dialog-actions">
          <button type="button" className="ghost" onClick={close}>
            Cancel
          </button>
          <button
            type="submit"
            className="primary"
            disabled={busy || !path.trim()}
            data-testid="save-confirm"
          >
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
