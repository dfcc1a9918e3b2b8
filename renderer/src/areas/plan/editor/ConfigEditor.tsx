// The YAML editor. Monaco owns the text while the user types; the store hears every change and
// plans it. Edits from the quick controls and "Use this layout" come back in as Monaco edits, so
// they are undoable with Ctrl+Z and the cursor stays where it was.
import { useEffect, useRef } from 'react';
import type { ConfigIssue } from '../../../../../app/config';
import { useApp } from '../../../state/app';
import { setEditorBridge, usePlan } from '../store';
import { minimalChange } from '../yaml-edit';
import { CONFIG_URI, MARKER_OWNER, monaco, monacoTheme, setupMonaco } from './monaco';

function toMarkers(
  model: monaco.editor.ITextModel,
  issues: ConfigIssue[],
  severity: monaco.MarkerSeverity,
): monaco.editor.IMarkerData[] {
  const lines = model.getLineCount();
  return issues.map((i) => {
    const line = Math.min(Math.max(i.line, 1), lines);
    let endLine = Math.min(Math.max(i.endLine, line), lines);
    let endColumn = i.endColumn;
    // A zero-width position (e.g. "unexpected end of input") would draw nothing, and a YAML syntax
    // error points at one character: mark to the end of the line so the squiggle is seen.
    if (endLine === line && (endColumn <= i.column || i.path === '')) {
      endLine = line;
      endColumn = model.getLineMaxColumn(line);
    }
    return {
      severity,
      message: i.path ? `${i.path}: ${i.message}` : i.message,
      startLineNumber: line,
      startColumn: Math.max(i.column, 1),
      endLineNumber: endLine,
      endColumn: Math.max(endColumn, i.column + 1),
      source: 'spindle',
    };
  });
}

export function ConfigEditor() {
  const host = useRef<HTMLDivElement>(null);
  const theme = useApp((s) => s.theme);

  useEffect(() => {
    const m = setupMonaco();
    const initial = usePlan.getState().text;
    // One model for the area, reused across remounts (switching areas keeps the undo history).
    const model =
      m.editor.getModel(CONFIG_URI) ?? m.editor.createModel(initial, 'yaml', CONFIG_URI);
    if (model.getValue() !== initial) model.setValue(initial);
    const ed = m.editor.create(host.current!, {
      model,
      theme: monacoTheme(useApp.getState().theme),
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      lineHeight: 20,
      fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace",
      tabSize: 2,
      insertSpaces: true,
      scrollBeyondLastLine: false,
      renderLineHighlight: 'line',
      // Hovers and suggestions may be larger than the editor pane: let them escape it.
      fixedOverflowWidgets: true,
      quickSuggestions: { other: true, comments: false, strings: true },
      // Suggestions when typing pauses, not on every key: a burst of keys must leave the main
      // thread free for the planner's answers.
      quickSuggestionsDelay: 120,
      hover: { delay: 250 },
      padding: { top: 8, bottom: 8 },
      ariaLabel: 'Run config (YAML). Ctrl+S saves, Ctrl+O opens, Alt+L moves to the layout table.',
      wordBasedSuggestions: 'off',
      glyphMargin: false,
      folding: true,
      // Per-keystroke extras that would each ask a worker and redraw, for little in a config
      // file: folding by indentation is computed locally, links/colours/code actions are off.
      foldingStrategy: 'indentation',
      links: false,
      colorDecorators: false,
      lightbulb: { enabled: m.editor.ShowLightbulbIconMode.Off },
      occurrencesHighlight: 'off',
      selectionHighlight: false,
      codeLens: false,
      lineNumbersMinChars: 3,
      overviewRulerLanes: 2,
      stickyScroll: { enabled: false },
    });
    let silent = false;
    const sub = model.onDidChangeContent(() => {
      if (!silent) usePlan.getState().setText(model.getValue(), performance.now());
    });
    setEditorBridge({
      replaceText(text) {
        const change = minimalChange(model.getValue(), text);
        if (!change) return;
        const a = model.getPositionAt(change.start);
        const b = model.getPositionAt(change.end);
        ed.pushUndoStop();
        ed.executeEdits('spindle-controls', [
          { range: new m.Range(a.lineNumber, a.column, b.lineNumber, b.column), text: change.text },
        ]);
        ed.pushUndoStop();
      },
      setDocument(text) {
        // A different document: new undo history, top of the file. The store plans it itself.
        silent = true;
        try {
          model.setValue(text);
        } finally {
          silent = false;
        }
        ed.setScrollTop(0);
        ed.setPosition({ lineNumber: 1, column: 1 });
      },
      focus: () => ed.focus(),
    });

    // Markers follow the planner's verdict: errors from parsing and validation, warnings from the plan.
    const setMarkers = (s: { issues: ConfigIssue[]; hints: ConfigIssue[] }) =>
      m.editor.setModelMarkers(model, MARKER_OWNER, [
        ...toMarkers(model, s.issues, m.MarkerSeverity.Error),
        ...toMarkers(model, s.hints, m.MarkerSeverity.Warning),
      ]);
    setMarkers(usePlan.getState());
    const unsub = usePlan.subscribe((s, prev) => {
      if (s.issues !== prev.issues || s.hints !== prev.hints) setMarkers(s);
    });
    // The first plan of a fresh page (the text came from a draft or an example before mounting).
    if (usePlan.getState().requestSeq === 0 && initial) usePlan.getState().setText(initial);

    return () => {
      unsub();
      sub.dispose();
      setEditorBridge(null);
      ed.dispose();
    };
  }, []);

  useEffect(() => {
    monaco.editor.setTheme(monacoTheme(theme));
  }, [theme]);

  return <div className="plan-editor" ref={host} data-testid="config-editor" />;
}

/** Reveal a line in the editor (from the problems list). */
export function revealLine(line: number, column: number) {
  const ed = monaco.editor.getEditors()[0];
  if (!ed) return;
  ed.revealLineInCenterIfOutsideViewport(line);
  ed.setPosition({ lineNumber: line, column });
  ed.focus();
}
