// Watermark flow control between a shell and the UI that renders it.
//
// A shell can print far faster than a terminal emulator can parse and paint (`yes`, `cat` of a big
// file). Without back-pressure the host would queue megabytes into the socket and the UI would
// spend seconds catching up, frozen. So the host counts what it sent and the UI acknowledges what
// it has rendered; when the difference passes HIGH the shell is paused (its writes then block in
// the kernel), and it resumes once the UI is back under LOW. The gap between the two marks stops
// the shell from flapping between paused and running on every chunk.
//
// Units are UTF-16 code units of the output text: the host and the UI both measure the same
// JavaScript strings, so no encoding round-trip is needed to agree on a count.

export const HIGH_WATER = 128 * 1024;
export const LOW_WATER = 16 * 1024;

export class FlowControl {
  private unacked = 0;
  private paused = false;

  constructor(
    private readonly onPause: () => void,
    private readonly onResume: () => void,
    readonly high = HIGH_WATER,
    readonly low = LOW_WATER,
  ) {
    if (!(low < high)) throw new Error('flow control needs low < high');
  }

  get pending(): number {
    return this.unacked;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Output went out (or was queued for a UI not yet attached). */
  sent(units: number): void {
    this.unacked += units;
    if (!this.paused && this.unacked > this.high) {
      this.paused = true;
      this.onPause();
    }
  }

  /** The UI rendered `units` more. Acks beyond what was sent are clamped (a late ack after a reset). */
  acked(units: number): void {
    this.unacked = Math.max(0, this.unacked - units);
    if (this.paused && this.unacked < this.low) {
      this.paused = false;
      this.onResume();
    }
  }

  /** Forget what is in flight (the UI that owed the acks went away) and start from `units`. */
  reset(units = 0): void {
    this.unacked = 0;
    this.sent(units);
    this.acked(0);
  }
}
