/**
 * Stack traces that point into src/ for the bundle's frames, through its
 * source map (dist/cli.js.map), read the first time a stack is formatted.
 *
 * Why not node's own support (`--enable-source-maps`,
 * `process.setSourceMapsEnabled`): it reads and parses the source map of
 * every module as it loads, the hundreds of the npm packages included, which
 * is about 8 MB of the collector's idle RSS. Here frames outside the bundle
 * (node's, the npm packages') stay as V8 prints them, at their .js lines.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Format every stack trace with the frames of `bundle` (a file: URL) mapped to
 * their sources. A missing or unreadable map leaves those frames as they are.
 *
 * @param {URL} bundle
 */
export function mapStackTraces(bundle) {
  const mapUrl = new URL(`${bundle.href}.map`);
  /** @type {SourceMap | null | undefined} undefined until read, null if unreadable */
  let map;
  const sourceMap = () => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapUrl, 'utf8')));
      } catch {
        map = null;
      }
    }
    return map;
  };

  /** One frame as V8 prints it, its bundle location replaced by the source's. */
  const frameText = (/** @type {NodeJS.CallSite} */ frame) => {
    const text = String(frame);
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    if (frame.getFileName() !== bundle.href || line == null || column == null) return text;
    const entry = sourceMap()?.findEntry(line - 1, column - 1);
    if (!entry?.originalSource) return text;
    const source = fileURLToPath(new URL(entry.originalSource, mapUrl));
    return text.replace(
      `${bundle.href}:${line}:${column}`,
      `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
    );
  };

  // What V8 prints by default (node's formatting without source maps), frames mapped.
  Error.prepareStackTrace = (err, frames) => {
    let head;
    try {
      head = Error.prototype.toString.call(err);
    } catch {
      head = '<error>';
    }
    return frames.length ? `${head}\n    at ${frames.map(frameText).join('\n    at ')}` : head;
  };
}
