/**
 * The V8 heap budget the server runs with, as NODE_OPTIONS: given where
 * Casefile starts the server (`npm start`, the image; the bench measures
 * with it). An export or a pin holds little at once (about 30 MB live: pages
 * become bytes or store rows as Loki answers them), but with Node's default
 * limit (a quarter of the machine's memory, 4 GB here) V8 lets garbage pile
 * up to four times that before a full GC, so the RSS doubles for nothing.
 * With this budget V8 collects earlier at the same throughput (`npm run
 * bench:server`: live CSV of 1M rows 233 -> 143 MB peak RSS, a 1M pin 294 -> 152 MB, rows/s
 * unchanged). A larger young generation only moves objects later; 4 MB
 * semi-spaces cost nothing measurable. Flags given later in NODE_OPTIONS win.
 */
export const SERVER_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=4';
