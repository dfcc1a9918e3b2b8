// Keeps a rendering error in one part of the Runs area from blanking the whole studio: the part
// shows what went wrong and can be re-tried, the rest (run list, terminals) stays usable.
import { Component, type ReactNode } from 'react';

interface Props {
  what: string;
  children: ReactNode;
  /** Changing it resets the boundary (another run opened). */
  resetKey?: string;
}

export class ErrorBoundary extends Component<Props, { error: Error | null; key?: string }> {
  override state: { error: Error | null; key?: string } = { error: null, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: { error: Error | null; key?: string }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  override componentDidCatch(error: Error) {
    console.error(`Runs area: ${this.props.what} failed`, error);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="run-error" role="alert" style={{ margin: 16 }}>
        <strong>The {this.props.what} could not be shown:</strong> {this.state.error.message}{' '}
        <button className="link" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
