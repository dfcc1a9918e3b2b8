export { TerminalView, type TerminalTarget, type TerminalViewProps } from './TerminalView';
