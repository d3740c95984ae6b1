/**
 * --stdout: one JSON object per line. Lines are gathered and written every
 * 20 ms (or at 64 KiB) so printing keeps up with the pipeline; `close()`
 * writes the rest.
 */
export class StdoutWriter {
  private buf: string[] = [];
  private bytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WritableStream) {}

  write(line: string): void {
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= 64 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 20);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buf.length) return;
    this.out.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.bytes = 0;
  }

  /** Write what is left and wait until the stream took it. */
  close(): Promise<void> {
    this.flush();
    return new Promise((res) => {
      this.out.write('', () => res());
    });
  }
}
