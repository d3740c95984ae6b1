/**
 * The architecture as import rules, checked by `npm run lint` (dependency-cruiser):
 * schema/ is the contract and depends on no component; the collector and the
 * server never import each other (their tests and benches included: helpers
 * shared across components live in test/); the plugin reaches the server only
 * over HTTP and imports neither the collector nor the server; nothing ships
 * code from test/.
 */
module.exports = {
  forbidden: [
    {
      name: 'schema-imports-no-component',
      comment:
        'schema/ is the single source of truth for the event contract; components depend on it, never the reverse.',
      severity: 'error',
      from: { path: '^schema/' },
      to: { path: '^(collector|server|grafana-plugin|test)/' },
    },
    {
      name: 'collector-not-server',
      comment:
        'The collector runs on every node; it must not pull in the server (shared test helpers live in test/).',
      severity: 'error',
      from: { path: '^collector/' },
      to: { path: '^server/' },
    },
    {
      name: 'server-not-collector',
      comment: 'The server must not pull in the collector (shared test helpers live in test/).',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^collector/' },
    },
    {
      name: 'plugin-over-http-only',
      comment: 'The Grafana plugin reaches the server through its plugin routes, never by importing it.',
      severity: 'error',
      from: { path: '^grafana-plugin/' },
      to: { path: '^(collector|server)/' },
    },
    {
      name: 'no-test-code-in-sources',
      comment: 'Shipped code (src/) never imports test helpers.',
      severity: 'error',
      from: { path: '^(schema|collector|server)/src/' },
      to: { path: '(^test/|/test/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(node_modules|/dist/|\\.config/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
