// An accessible modal dialog on the native <dialog> element. showModal() puts it in the top layer
// and makes the rest of the page inert, so a host prompt that arrives while another dialog is
// open (a host-key question during "Add node") stacks above it and the one below waits.
// On top of that: Tab wraps inside the dialog, Escape cancels (the caller decides what cancel
// means — for prompts it is always the safe answer), and focus goes back where it came from.
import { useEffect, useId, useRef, type ReactNode, type RefObject } from 'react';
import './prompts.css';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface DialogProps {
  title: ReactNode;
  /** Escape, the close button, or the browser closing the dialog. */
  onCancel(): void;
  children: ReactNode;
  /** Buttons row at the bottom. */
  actions?: ReactNode;
  /** alertdialog for warnings that interrupt (a changed host key). */
  role?: 'dialog' | 'alertdialog';
  tone?: 'normal' | 'danger';
  /** Element to focus first; defaults to the first focusable control in the body. */
  initialFocus?: RefObject<HTMLElement | null>;
  className?: string;
  testId?: string;
  /** Extra text under the title, announced with it. */
  description?: ReactNode;
}

export function Dialog({
  title,
  onCancel,
  children,
  actions,
  role = 'dialog',
  tone = 'normal',
  initialFocus,
  className,
  testId,
  description,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  // The latest onCancel without re-running the mount effect (which would re-open the dialog).
  const cancelRef = useRef(onCancel);
  useEffect(() => {
    cancelRef.current = onCancel;
  }, [onCancel]);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const before = document.activeElement as HTMLElement | null;
    let closingByUs = false;
    if (!dialog.open) dialog.showModal();
    const inBody = FOCUSABLE.split(', ')
      .map((s) => `.dialog-body ${s}`)
      .join(', ');
    const target =
      initialFocus?.current ??
      dialog.querySelector<HTMLElement>(inBody) ??
      dialog.querySelector<HTMLElement>(FOCUSABLE);
    target?.focus();

    const onCancelEvent = (e: Event) => {
      e.preventDefault();
      cancelRef.current();
    };
    // Chromium may close a dialog on Escape without a cancelable cancel event (close watchers
    // without user activation); treat that as a cancel too, so the host still gets its answer.
    const onClose = () => {
      if (!closingByUs) cancelRef.current();
    };
    dialog.addEventListener('cancel', onCancelEvent);
    dialog.addEventListener('close', onClose);
    return () => {
      dialog.removeEventListener('cancel', onCancelEvent);
      dialog.removeEventListener('close', onClose);
      closingByUs = true;
      if (dialog.open) dialog.close();
      if (before && document.contains(before)) before.focus();
    };
    // Opening is a mount-time act; initialFocus is a ref read once.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onKeyDown = (e: React.KeyboardEvent<HTMLDialogElement>) => {
    if (e.key !== 'Tab') return;
    const items = [...(ref.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])].filter(
      (el) => el.offsetParent !== null || el === document.activeElement,
    );
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      role={role}
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      className={`dialog ${tone === 'danger' ? 'danger' : ''} ${className ?? ''}`}
      data-testid={testId}
      onKeyDown={onKeyDown}
    >
      <header className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button
          type="button"
          className="dialog-x"
          aria-label="Close dialog"
          onClick={() => cancelRef.current()}
        >
          ×
        </button>
      </header>
      {description ? (
        <p id={descId} className="dialog-desc">
          {description}
        </p>
      ) : null}
      <div className="dialog-body">{children}</div>
      {actions ? <footer className="dialog-actions">{actions}</footer> : null}
    </dialog>
  );
}
