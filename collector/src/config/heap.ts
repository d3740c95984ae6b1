/**
 * The V8 heap budget the collector runs with, as NODE_OPTIONS: given where
 * Casefile starts the collector (`npm start`, the image, so the DaemonSet;
 * the bench measures with it). The pipeline holds about 30 MB live at its
 * peak rate (`--trace-gc`: 28–31 MB after each full GC), but with Node's
 * default limit (a quarter of the machine's memory) V8 lets promoted garbage
 * reach ~110 MB before a full GC, and RSS follows it. With this budget a
 * loaded collector peaks at ~150 MB instead of ~225 MB (`npm run
 * bench:collector`, 3 alternated pairs) for ~15 % more CPU per event: more
 * frequent full GCs. On a node, memory is the hard limit (the pod is killed
 * past it) while CPU is only throttled (the durable queue absorbs a backlog).
 * Flags given later in NODE_OPTIONS win.
 */
export const COLLECTOR_NODE_OPTIONS = '--max-old-space-size=192';
