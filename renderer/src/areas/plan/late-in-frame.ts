// A callback late in the current frame: after its style and layout, before its paint. The HTML
// rendering steps deliver ResizeObserver notifications exactly there, so a hidden element whose
// width flips during requestAnimationFrame yields one in that same frame. Work done in it (a
// React commit) is laid out again and painted in the frame.
//
// Why the planner needs it: Chromium defers every task but input and rendering from a key press
// until the next frame (its scheduler's "defer renderer tasks after input"), so nothing else can
// look for the worker's answer before that frame. This gives the worker the frame's own
// rendering time as well, before the answer has to wait for the frame after.

export type LateInFrame = (cb: () => void) => void;

export function lateInFrame(doc: Document): LateInFrame {
  let probe: HTMLElement | null = null;
  let queued: (() => void)[] = [];
  const observer = new ResizeObserver(() => {
    const run = queued;
    queued = [];
    for (const cb of run) cb();
  });
  return (cb) => {
    if (!probe) {
      probe = doc.createElement('div');
      probe.className = 'frame-probe';
      probe.setAttribute('aria-hidden', 'true');
      doc.body.append(probe);
      observer.observe(probe);
    }
    queued.push(cb);
    probe.style.width = probe.style.width === '1px' ? '0px' : '1px';
  };
}
