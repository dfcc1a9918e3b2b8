// A run's logs from every node and rank, each line prefixed with where it came from, in a
// read-only xterm.js (fast with hundreds of thousands of lines, keeps ANSI colours from the
// runtime). Follow mode, search, a node/rank filter, and download of what was received.
import { useEffect, useMemo, useRef, useState } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import '@xterm/xterm/css/xterm.css';
import type { z } from 'zod';
import type { LogLine as LogLineSchema } from '../../../../app/protocol/runs';
import { host, hostLink } from '../../host';
import { followTheme, xtermFont, xtermTheme } from '../../components/terminal/theme';
import { nodeAnsi } from './colors';

/** The most lines kept in the page; older ones drop off (the full logs stay in the run dir). */
const MAX_LINES = 200_000;
type LogLine = z.infer<typeof LogLineSchema>;
const TAIL = 2000;

const origin = (l: LogLine) => `${l.node}/${l.rank === null ? '-' : `r${l.rank}`}`;

export function plainLine(l: LogLine): string {
  return `[${origin(l)}] ${l.line}`;
}

interface Filter {
  node: string;
  rank: string;
}

const matches = (f: Filter, l: LogLine) =>
  (f.node === '' || l.node === f.node) && (f.rank === '' || String(l.rank ?? '-') === f.rank);

export function LogsView({ runId, runName }: { runId: string; runName: string }) {
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const search = useRef<SearchAddon | null>(null);
  const lines = useRef<LogLine[]>([]);
  const nodeIndex = useRef(new Map<string, number>());
  const width = useRef(0);
  const [filter, setFilter] = useState<Filter>({ node: '', rank: '' });
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const [follow, setFollow] = useState(true);
  const followRef = useRef(follow);
  followRef.current = follow;
  const [origins, setOrigins] = useState<{ nodes: string[]; ranks: string[] }>({
    nodes: [],
    ranks: [],
  });
  const [count, setCount] = useState(0);
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<{ index: number; count: number } | null>(null);
  const [linkNote, setLinkNote] = useState<string | null>(null);

  const format = (l: LogLine) => {
    let i = nodeIndex.current.get(l.node);
    if (i === undefined) nodeIndex.current.set(l.node, (i = nodeIndex.current.size));
    const o = origin(l);
    width.current = Math.max(width.current, o.length);
    return `\x1b[38;5;${nodeAnsi(i)}m${o.padEnd(width.current)}\x1b[0m \x1b[2m│\x1b[0m ${l.line}`;
  };

  const writeLines = (batch: LogLine[]) => {
    const t = term.current;
    if (!t || batch.length === 0) return;
    const keepAt = followRef.current ? null : t.buffer.active.viewportY;
    t.write(batch.map(format).join('\r\n') + '\r\n', () => {
      if (keepAt !== null) t.scrollToLine(keepAt);
    });
  };

  const redraw = () => {
    const t = term.current;
    if (!t) return;
    t.reset();
    t.write('\x1b[?25l');
    writeLines(lines.current.filter((l) => matches(filterRef.current, l)));
  };

  useEffect(() => {
    const t = new Terminal({
      fontFamily: xtermFont(),
      fontSize: 12,
      lineHeight: 1.1,
      disableStdin: true,
      cursorBlink: false,
      cursorInactiveStyle: 'none',
      scrollback: MAX_LINES,
      theme: xtermTheme(),
      allowProposedApi: true,
    });
    const fit = new FitAddon();
    const s = new SearchAddon();
    t.loadAddon(fit);
    t.loadAddon(s);
    t.open(box.current!);
    t.write('\x1b[?25l');
    term.current = t;
    search.current = s;
    const stopTheme = followTheme(t);
    const results = s.onDidChangeResults((r) =>
      setFound({ index: r.resultIndex, count: r.resultCount }),
    );
    const fitNow = () => {
      const d = fit.proposeDimensions();
      if (d && d.cols > 1 && d.rows > 0) fit.fit();
    };
    fitNow();
    const ro = new ResizeObserver(fitNow);
    ro.observe(box.current!);
    // Scrolling up leaves follow mode; scrolling back to the end takes it up again.
    const onScroll = t.onScroll(() => {
      const b = t.buffer.active;
      const atEnd = b.viewportY >= b.baseY;
      if (atEnd !== followRef.current) setFollow(atEnd);
    });

    let unsubscribe: (() => void) | null = null;
    const seenNodes = new Set<string>();
    const seenRanks = new Set<string>();
    const subscribe = () => {
      // History comes again with the tail: start from a clean slate rather than doubling lines.
      lines.current = [];
      t.reset();
      t.write('\x1b[?25l');
      unsubscribe = host.subscribe(
        'runs.logs',
        { id: runId, tail: TAIL },
        (batch) => {
          setLinkNote(null);
          const all = lines.current;
          for (const l of batch) all.push(l);
          if (all.length > MAX_LINES) all.splice(0, all.length - MAX_LINES);
          let grew = false;
          for (const l of batch) {
            const r = String(l.rank ?? '-');
            if (!seenNodes.has(l.node) || !seenRanks.has(r)) grew = true;
            seenNodes.add(l.node);
            seenRanks.add(r);
          }
          if (grew)
            setOrigins({
              nodes: [...seenNodes].sort(),
              ranks: [...seenRanks].sort((a, b) =>
                a === '-' ? -1 : b === '-' ? 1 : Number(a) - Number(b),
              ),
            });
          setCount(all.length);
          writeLines(batch.filter((l) => matches(filterRef.current, l)));
        },
        (err) => {
          unsubscribe = null;
          if (err)
            setLinkNote(
              /disconnected/i.test(err.message)
                ? 'Reconnecting to the host…'
                : `Logs unavailable: ${err.message}`,
            );
        },
      );
    };
    const stopLink = hostLink.onState((st) => {
      if (st === 'connected' && !unsubscribe) subscribe();
    });

    return () => {
      stopLink();
      unsubscribe?.();
      ro.disconnect();
      onScroll.dispose();
      results.dispose();
      stopTheme();
      t.dispose();
      term.current = null;
      search.current = null;
    };
    // One viewer per run; the view is keyed by run id.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId]);

  useEffect(() => {
    redraw();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filter]);

  useEffect(() => {
    if (follow) term.current?.scrollToBottom();
  }, [follow]);

  const searchOpts = useMemo(
    () => ({
      caseSensitive: false,
      decorations: {
        matchBackground: '#ffd43b55',
        activeMatchBackground: '#ffa94d',
        matchOverviewRuler: '#ffd43b',
        activeMatchColorOverviewRuler: '#ffa94d',
      },
    }),
    [],
  );
  const find = (dir: 1 | -1, incremental = false) => {
    const s = search.current;
    if (!s) return;
    if (!query) {
      s.clearDecorations();
      setFound(null);
      return;
    }
    setFollow(false);
    const hit =
      dir > 0
        ? s.findNext(query, { ...searchOpts, incremental })
        : s.findPrevious(query, searchOpts);
    if (!hit) setFound({ index: -1, count: 0 });
  };

  const download = () => {
    const text = lines.current.map(plainLine).join('\n') + '\n';
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${runName || runId}.log`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <div className="logs">
      <div className="logs-bar" role="toolbar" aria-label="Log tools">
        <select
          aria-label="Filter by node"
          value={filter.node}
          onChange={(e) => setFilter({ ...filter, node: e.target.value })}
        >
          <option value="">All nodes</option>
          {origins.nodes.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <select
          aria-label="Filter by rank"
          value={filter.rank}
          onChange={(e) => setFilter({ ...filter, rank: e.target.value })}
        >
          <option value="">All ranks</option>
          {origins.ranks.map((r) => (
            <option key={r} value={r}>
              {r === '-' ? 'launcher' : `rank ${r}`}
            </option>
          ))}
        </select>
        <div className="search-box">
          <input
            type="search"
            placeholder="Search logs"
            aria-label="Search logs"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              setFound(null);
            }}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                find(e.shiftKey ? -1 : 1);
              } else if (e.key === 'Escape') {
                setQuery('');
                search.current?.clearDecorations();
                setFound(null);
              }
            }}
          />
          <button
            className="ghost icon"
            onClick={() => find(-1)}
            aria-label="Previous match"
            title="Previous match (Shift+Enter)"
          >
            ↑
          </button>
          <button
            className="ghost icon"
            onClick={() => find(1)}
            aria-label="Next match"
            title="Next match (Enter)"
          >
            ↓
          </button>
          <span className="muted small" aria-live="polite">
            {found === null
              ? ''
              : found.count === 0
                ? 'no match'
                : found.index >= 0
                  ? `${found.index + 1} of ${found.count}`
                  : `${found.count} matches`}
          </span>
        </div>
        <span className="grow" />
        {linkNote ? <span className="muted small">{linkNote}</span> : null}
        <span className="muted small" data-testid="log-count">
          {count.toLocaleString()} lines
        </span>
        <button
          className={`ghost ${follow ? 'on' : ''}`}
          aria-pressed={follow}
          onClick={() => setFollow(!follow)}
          title="Keep the newest lines in view"
        >
          Follow
        </button>
        <button className="ghost" onClick={download} disabled={count === 0}>
          Download
        </button>
      </div>
      <div className="logs-term terminal-view">
        <div
          ref={box}
          className="terminal-box"
          role="log"
          aria-label={`Logs of ${runName}`}
          data-testid="run-logs"
        />
      </div>
    </div>
  );
}
