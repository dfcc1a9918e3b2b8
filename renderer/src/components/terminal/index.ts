export { TerminalView, type TerminalViewProps } from './TerminalView';
export { closeTerminal, type TerminalTarget, type SessionSnapshot } from './session';
