/**
 * Modules Grafana shares with plugins (grafana public/app/features/plugins/loader/
 * sharedDependencies.ts); create-plugin keeps the same list external. The host
 * page of the browser tests must register every one of them.
 */
const SHARED = [
  'lodash',
  'jquery',
  'moment',
  'slate',
  'emotion',
  '@emotion/react',
  '@emotion/css',
  'prismjs',
  'slate-plain-serializer',
  '@grafana/slate-react',
  'react',
  'react-dom',
  'react/jsx-runtime',
  'react-dom/client',
  'react-redux',
  'redux',
  'rxjs',
  'i18next',
  // Grafana maps 'react-router' to react-router-dom-v5-compat (v6 API) but 'react-router-dom' to v5:
  // a v6 plugin bundles react-router-dom and keeps only react-router external (GRAFANA-NOTES.md).
  'react-router',
  'd3',
  'angular',
];

const externals = [
  // AMD's `module` dependency gives the module's uri: src/publicPath.ts derives the public path from it.
  { 'amd-module': 'module' },
  ...SHARED,
  ({ request }, callback) => {
    if (/^@grafana\/(ui|runtime|data)(\/|$)/.test(request)) return callback(undefined, request);
    callback();
  },
];

module.exports = { externals, SHARED };
